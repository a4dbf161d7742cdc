//! An in-process test client: builds a realistic event of any kind (with the
//! `aws_lambda_events` types), sends it through exactly the code path the
//! Lambda runtime uses, and decodes the response payload.
//!
//! ```
//! use lambada::prelude::*;
//! use lambada::test::Client;
//!
//! #[get("/helloworld/<id>")]
//! async fn index(id: u32) -> String {
//!     format!("Hello world: {id}")
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let client = Client::new(routes![index]);
//! for kind in EventKind::LAMBDA {
//!     let res = client.get("/helloworld/5").kind(kind).send().await;
//!     assert_eq!(res.status(), 200);
//!     assert_eq!(res.text(), "Hello world: 5");
//! }
//! # });
//! ```

use std::collections::HashMap;

use aws_lambda_events::alb::{AlbTargetGroupRequest, AlbTargetGroupRequestContext, ElbContext};
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayRequestIdentity,
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dispatch::{Answer, App, Streamed};
use crate::event::{EventError, is_text};
use crate::invocation::Invocation;
use crate::request::EventKind;
use crate::route::Routes;

mod websocket;
pub use websocket::{WsEvent, WsEventBuilder};

impl EventKind {
    /// Every event kind Lambda can deliver to an HTTP function.
    pub const LAMBDA: [EventKind; 5] = [
        EventKind::RestV1,
        EventKind::HttpV2,
        EventKind::FunctionUrl,
        EventKind::Alb,
        EventKind::AlbMultiValue,
    ];
}

/// The test client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    app: App,
    kind: EventKind,
    stage: String,
}

impl Client {
    /// A client for a route table; events are REST API (v1) events on stage
    /// `prod` unless told otherwise.
    pub fn new(routes: Routes) -> Client {
        Client {
            app: App::new(routes),
            kind: EventKind::RestV1,
            stage: "prod".into(),
        }
    }

    /// Sends every request as this kind of event.
    pub fn kind(mut self, kind: EventKind) -> Client {
        self.kind = kind;
        self
    }

    /// The API Gateway stage of REST events (`prod` by default).
    pub fn stage(mut self, stage: impl Into<String>) -> Client {
        self.stage = stage.into();
        self
    }

    /// A client for the trigger handler `handler` of the same table: what
    /// the function deploy creates for it runs.
    ///
    /// ```
    /// use lambada::prelude::*;
    /// use lambada::test::{Client, events};
    ///
    /// #[sqs(queue = "orders")]
    /// async fn on_order(msg: SqsMessage<u32>) -> Result<(), String> {
    ///     if msg.body == 0 { Err("zero".into()) } else { Ok(()) }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let client = Client::new(routes![on_order]).trigger("on_order");
    /// let res = client.send(&events::sqs("orders", &["1", "0", "2"])).await.unwrap();
    /// assert_eq!(res["batchItemFailures"][0]["itemIdentifier"], "message-2");
    /// # });
    /// ```
    ///
    /// # Panics
    ///
    /// When the table has no trigger handler of that name.
    pub fn trigger(&self, handler: &str) -> TriggerClient {
        let routes = self.app.routes().clone();
        let app = App::for_handler(routes, Some(handler)).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            app.trigger().is_some(),
            "the route table has no trigger handler named `{handler}`"
        );
        TriggerClient { app }
    }

    /// A request with any method.
    pub fn request(&self, method: Method, path_and_query: &str) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            kind: self.kind,
            method,
            uri: path_and_query.to_owned(),
            headers: Vec::new(),
            body: None,
            authorizer: None,
            identity: None,
            source_ip: "203.0.113.7".into(),
        }
    }

    /// A GET request.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }
    /// A POST request.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }
    /// A PUT request.
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }
    /// A DELETE request.
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }
    /// A PATCH request.
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }
    /// A HEAD request.
    pub fn head(&self, path: &str) -> RequestBuilder {
        self.request(Method::HEAD, path)
    }
    /// An OPTIONS request.
    pub fn options(&self, path: &str) -> RequestBuilder {
        self.request(Method::OPTIONS, path)
    }

    /// Dispatches a raw event (for example a checked-in sample) and returns
    /// the raw response payload.
    pub async fn event(&self, event: &[u8]) -> Result<Vec<u8>, EventError> {
        self.app.handle_event(event, &INVOCATION).await
    }

    /// Dispatches a raw event and decodes the response payload.
    pub async fn send_event(&self, event: &[u8]) -> Result<TestResponse, EventError> {
        let payload = self.event(event).await?;
        Ok(TestResponse::decode(&payload))
    }
}

/// `v` with its numbers and booleans as strings, as REST APIs pass
/// authorizer values on.
fn stringified(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, x)| {
                let x = match x {
                    serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                        serde_json::Value::String(x.to_string())
                    }
                    other => other.clone(),
                };
                (k.clone(), x)
            })
            .collect(),
        other => other.clone(),
    }
}

/// A request being built. Finish with [`send`](RequestBuilder::send).
#[derive(Debug)]
pub struct RequestBuilder {
    client: Client,
    kind: EventKind,
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    authorizer: Option<serde_json::Value>,
    identity: Option<Identity>,
    source_ip: String,
}

/// What an authorizer said, put into the event in the kind's own shape.
#[derive(Debug)]
enum Identity {
    Claims(serde_json::Value),
    Context(serde_json::Value),
}

impl Identity {
    fn authorizer(&self, kind: EventKind) -> Option<serde_json::Value> {
        match (self, kind) {
            (Identity::Claims(c), EventKind::RestV1) => {
                Some(serde_json::json!({"claims": stringified(c)}))
            }
            (Identity::Claims(c), EventKind::HttpV2) => {
                let scopes = c
                    .get("scope")
                    .and_then(|s| s.as_str())
                    .map(|s| s.split_whitespace().collect::<Vec<_>>());
                Some(serde_json::json!({"jwt": {"claims": c, "scopes": scopes}}))
            }
            (Identity::Context(c), EventKind::RestV1) => {
                let mut v = stringified(c);
                if let Some(m) = v.as_object_mut() {
                    m.entry("principalId").or_insert_with(|| "user".into());
                }
                Some(v)
            }
            (Identity::Context(c), EventKind::HttpV2) => Some(serde_json::json!({"lambda": c})),
            _ => None,
        }
    }
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }
    /// Adds a cookie.
    pub fn cookie(self, name: &str, value: &str) -> Self {
        self.header("cookie", &format!("{name}={value}"))
    }
    /// A JSON body (and `Content-Type: application/json`).
    pub fn json<T: Serialize>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("serializable test body");
        self.header("content-type", "application/json").body(body)
    }
    /// A form body (and `Content-Type: application/x-www-form-urlencoded`).
    pub fn form<T: Serialize>(self, value: &T) -> Self {
        let body = serde_html_form::to_string(value).expect("serializable test form");
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
    /// A raw body (sent base64-encoded when it is not text).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
    /// The event kind of this one request.
    pub fn kind(mut self, kind: EventKind) -> Self {
        self.kind = kind;
        self
    }
    /// The authorizer output (for example `{"claims": {"sub": "..."}}`).
    pub fn authorizer(mut self, value: serde_json::Value) -> Self {
        self.authorizer = Some(value);
        self
    }
    /// A JWT / Cognito authorizer's claims, where this event kind carries
    /// them: REST events as a Cognito authorizer does (`claims`, every value
    /// a string), HTTP API events as a JWT authorizer does (`jwt.claims`,
    /// and `jwt.scopes` from the `scope` claim). Function URL and ALB
    /// events carry no authorizer result.
    pub fn claims(mut self, claims: serde_json::Value) -> Self {
        self.identity = Some(Identity::Claims(claims));
        self
    }
    /// A Lambda authorizer's context, where this event kind carries it:
    /// REST events beside `principalId` (every value a string), HTTP API
    /// events under `lambda`.
    pub fn authorizer_context(mut self, context: serde_json::Value) -> Self {
        self.identity = Some(Identity::Context(context));
        self
    }
    /// The caller's IP address.
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.to_owned();
        self
    }

    /// The event this request becomes, as JSON bytes: the route is found as
    /// API Gateway would find it, then [`HttpEvent`] builds the event.
    pub fn to_event(&self) -> Vec<u8> {
        let path = self
            .uri
            .split_once('?')
            .map_or(self.uri.as_str(), |(p, _)| p);
        // Find the route as API Gateway would, to fill in the template.
        let (template, params) = match self.client.app.find_by_path(&self.method, path, true) {
            crate::dispatch::Found::Route(r, params, _) => (
                Some(r.apigw_path.to_owned()),
                params
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect::<Vec<_>>(),
            ),
            _ => (None, Vec::new()),
        };
        let mut event = HttpEvent::new(self.kind, self.method.clone(), self.uri.clone());
        event.headers = self.headers.clone();
        event.body = self.body.clone();
        event.template = template;
        event.params = params;
        event.stage = self.client.stage.clone();
        event.source_ip = self.source_ip.clone();
        event.authorizer = match &self.identity {
            Some(i) => i.authorizer(self.kind),
            None => self.authorizer.clone(),
        };
        event.to_json()
    }

    /// Sends the request and decodes the response. A streaming route
    /// answers a function URL or REST API event as Lambda streams it (the
    /// prelude, then the chunks: see [`TestResponse::chunks`]).
    pub async fn send(self) -> TestResponse {
        let event = self.to_event();
        let answer = self
            .client
            .app
            .answer(&event, &INVOCATION, true)
            .await
            .unwrap_or_else(|e| panic!("the test client built an event the runtime rejects: {e}"));
        match answer {
            Answer::Payload(payload) => TestResponse::decode(&payload),
            Answer::Stream(streamed) => TestResponse::from_stream(streamed).await,
        }
    }
}

/// An HTTP request as an event of one [`EventKind`], built with the
/// `aws_lambda_events` types: what [`RequestBuilder::to_event`] sends through
/// the route table, and what `cargo lambada serve` sends to a real
/// `bootstrap`. It does no routing: `template` and `params` say which route
/// API Gateway matched (`None` means the `/{proxy+}` or `$default` route).
///
/// ```
/// use lambada::EventKind;
/// use lambada::test::HttpEvent;
///
/// let event = HttpEvent {
///     template: Some("/helloworld/{id}".into()),
///     params: vec![("id".into(), "5".into())],
///     ..HttpEvent::new(EventKind::RestV1, http::Method::GET, "/helloworld/5")
/// };
/// let json: serde_json::Value = serde_json::from_slice(&event.to_json()).unwrap();
/// assert_eq!(json["resource"], "/helloworld/{id}");
/// assert_eq!(json["pathParameters"]["id"], "5");
/// assert_eq!(json["requestContext"]["stage"], "prod");
/// ```
#[derive(Debug, Clone)]
pub struct HttpEvent {
    /// The event shape.
    pub kind: EventKind,
    /// The HTTP method.
    pub method: Method,
    /// The path and query string as sent (percent-encoded), without the stage.
    pub uri: String,
    /// Headers in order (names as given; repeated names are kept).
    pub headers: Vec<(String, String)>,
    /// The body, sent base64-encoded when it is not text.
    pub body: Option<Vec<u8>>,
    /// The API Gateway resource path of the matched route (`/items/{sku}`).
    pub template: Option<String>,
    /// The matched route's path parameters, percent-decoded.
    pub params: Vec<(String, String)>,
    /// The REST API stage (`prod`).
    pub stage: String,
    /// The caller's IP address.
    pub source_ip: String,
    /// The caller's user agent, as API Gateway reports it in the context.
    pub user_agent: String,
    /// API Gateway's request id.
    pub request_id: String,
    /// The request time in milliseconds since the epoch.
    pub time_epoch_ms: i64,
    /// The request time as API Gateway formats it (`10/Mar/2024:12:00:00 +0000`).
    pub request_time: Option<String>,
    /// The authorizer output (for example `{"claims": {"sub": "..."}}`).
    pub authorizer: Option<serde_json::Value>,
}

impl HttpEvent {
    /// An event with the test client's fixed context: stage `prod`, source
    /// IP `203.0.113.7`, a constant request id and time, no route template.
    pub fn new(kind: EventKind, method: Method, uri: impl Into<String>) -> HttpEvent {
        HttpEvent {
            kind,
            method,
            uri: uri.into(),
            headers: Vec::new(),
            body: None,
            template: None,
            params: Vec::new(),
            stage: "prod".into(),
            source_ip: "203.0.113.7".into(),
            user_agent: "lambada-test".into(),
            request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".into(),
            time_epoch_ms: 1_700_000_000_000,
            request_time: None,
            authorizer: None,
        }
    }

    /// The event API Gateway sends a Lambda authorizer before this
    /// request: `TOKEN` with the value of `token_header` when given,
    /// otherwise `REQUEST` (payload format 2.0 for HTTP APIs, with
    /// `identity` as its `identitySource`). Its `methodArn` / `routeArn`
    /// names API `wt6mne2s9k` of account 123456789012 in us-east-1.
    pub fn authorizer_event(
        &self,
        token_header: Option<&str>,
        identity: &[String],
    ) -> serde_json::Value {
        let path = self
            .uri
            .split_once('?')
            .map_or(self.uri.as_str(), |(p, _)| p);
        let arn = format!(
            "arn:aws:execute-api:us-east-1:123456789012:wt6mne2s9k/{}/{}{}",
            self.stage, self.method, path
        );
        if let Some(name) = token_header {
            let token = self
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone());
            return serde_json::json!({"type": "TOKEN", "authorizationToken": token, "methodArn": arn});
        }
        let mut v = self.to_value();
        if let Some(m) = v.as_object_mut() {
            m.remove("body");
            m.remove("isBase64Encoded");
            m.insert("type".into(), "REQUEST".into());
            if self.kind == EventKind::HttpV2 {
                m.insert("routeArn".into(), arn.into());
                m.insert("identitySource".into(), serde_json::json!(identity));
            } else {
                m.insert("methodArn".into(), arn.into());
            }
            if let Some(ctx) = m.get_mut("requestContext").and_then(|c| c.as_object_mut()) {
                ctx.remove("authorizer");
            }
        }
        v
    }

    /// The event as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_value()).expect("event serializes")
    }

    /// The event as a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        let (path, raw_query) = match self.uri.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (self.uri.clone(), String::new()),
        };
        let decoded_query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect();
        let mut multi_query: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in &decoded_query {
            multi_query.entry(k.clone()).or_default().push(v.clone());
        }
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                headers.append(k, v);
            }
        }
        let content_type = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        let (body, b64) = match &self.body {
            None => (None, false),
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) if is_text(content_type) => (Some(s.to_owned()), false),
                _ => (
                    Some(base64::engine::general_purpose::STANDARD.encode(b)),
                    true,
                ),
            },
        };
        let stage = self.stage.clone();
        let request_id = self.request_id.clone();
        let template = self.template.clone();
        let params = self.params.clone();
        match self.kind {
            EventKind::RestV1 => {
                let mut ev = ApiGatewayProxyRequest::default();
                let (resource, params): (String, HashMap<String, String>) = match template {
                    Some(t) => (
                        t,
                        params
                            .into_iter()
                            .map(|(k, v)| {
                                (
                                    k,
                                    percent_encoding::utf8_percent_encode(&v, SEGMENT).to_string(),
                                )
                            })
                            .collect(),
                    ),
                    None => (
                        "/{proxy+}".to_owned(),
                        HashMap::from([(
                            "proxy".to_owned(),
                            path.trim_start_matches('/').to_owned(),
                        )]),
                    ),
                };
                ev.resource = Some(resource.clone());
                ev.path = Some(path.clone());
                ev.http_method = self.method.clone();
                ev.headers = headers.clone();
                ev.multi_value_headers = headers;
                ev.query_string_parameters = multi_query.clone().into();
                ev.multi_value_query_string_parameters = multi_query.into();
                ev.path_parameters = params;
                ev.body = body;
                ev.is_base64_encoded = b64;
                let mut ctx = ApiGatewayProxyRequestContext::default();
                ctx.account_id = Some("123456789012".into());
                ctx.resource_id = Some("us4z18".into());
                ctx.stage = Some(stage.clone());
                ctx.request_id = Some(request_id);
                ctx.resource_path = Some(resource);
                ctx.http_method = self.method.clone();
                ctx.path = Some(format!("/{stage}{path}"));
                ctx.apiid = Some("wt6mne2s9k".into());
                ctx.domain_name = Some("wt6mne2s9k.execute-api.us-east-1.amazonaws.com".into());
                ctx.protocol = Some("HTTP/1.1".into());
                ctx.request_time_epoch = self.time_epoch_ms;
                ctx.request_time = self.request_time.clone();
                let mut identity = ApiGatewayRequestIdentity::default();
                identity.source_ip = Some(self.source_ip.clone());
                identity.user_agent = Some(self.user_agent.clone());
                ctx.identity = identity;
                ev.request_context = ctx;
                let mut v = serde_json::to_value(ev).expect("event serializes");
                if let Some(a) = &self.authorizer {
                    v["requestContext"]["authorizer"] = a.clone();
                }
                v
            }
            EventKind::HttpV2 | EventKind::FunctionUrl => {
                let url = self.kind == EventKind::FunctionUrl;
                let mut ev = ApiGatewayV2httpRequest::default();
                ev.version = Some("2.0".into());
                ev.route_key = Some(match (&template, url) {
                    (Some(t), false) => format!("{} {t}", self.method),
                    _ => "$default".into(),
                });
                // HTTP APIs decode rawPath; function URLs keep it encoded.
                ev.raw_path = Some(if url {
                    path.clone()
                } else {
                    percent_encoding::percent_decode_str(&path)
                        .decode_utf8_lossy()
                        .into_owned()
                });
                ev.raw_query_string = Some(raw_query);
                let mut cookies = Vec::new();
                let mut single = HeaderMap::new();
                for (k, v) in &headers {
                    if k == http::header::COOKIE {
                        cookies.extend(
                            v.to_str()
                                .unwrap_or("")
                                .split(';')
                                .map(|c| c.trim().to_owned()),
                        );
                    } else if let Some(prev) = single.get(k) {
                        let joined = format!(
                            "{},{}",
                            prev.to_str().unwrap_or(""),
                            v.to_str().unwrap_or("")
                        );
                        single.insert(
                            k.clone(),
                            HeaderValue::from_str(&joined).unwrap_or(v.clone()),
                        );
                    } else {
                        single.insert(k.clone(), v.clone());
                    }
                }
                ev.cookies = (!cookies.is_empty()).then_some(cookies);
                ev.headers = single;
                ev.query_string_parameters = multi_query.into();
                if !url {
                    ev.path_parameters = params.into_iter().collect();
                }
                ev.body = body;
                ev.is_base64_encoded = b64;
                let mut ctx = ApiGatewayV2httpRequestContext::default();
                ctx.route_key = ev.route_key.clone();
                ctx.account_id = Some("123456789012".into());
                ctx.stage = Some("$default".into());
                ctx.request_id = Some(request_id);
                ctx.apiid = Some(if url {
                    "abcdefghijklmnop".into()
                } else {
                    "r3pmxmplak".into()
                });
                ctx.domain_name = Some(if url {
                    "abcdefghijklmnop.lambda-url.us-east-1.on.aws".into()
                } else {
                    "r3pmxmplak.execute-api.us-east-1.amazonaws.com".into()
                });
                ctx.time_epoch = self.time_epoch_ms;
                ctx.time = self.request_time.clone();
                let mut http_desc = ApiGatewayV2httpRequestContextHttpDescription::default();
                http_desc.method = self.method.clone();
                http_desc.path = Some(path.clone());
                http_desc.protocol = Some("HTTP/1.1".into());
                http_desc.source_ip = Some(self.source_ip.clone());
                http_desc.user_agent = Some(self.user_agent.clone());
                ctx.http = http_desc;
                ev.request_context = ctx;
                let mut v = serde_json::to_value(ev).expect("event serializes");
                if let Some(a) = &self.authorizer {
                    v["requestContext"]["authorizer"] = a.clone();
                }
                v
            }
            EventKind::Alb | EventKind::AlbMultiValue | EventKind::Http => {
                let multi = self.kind == EventKind::AlbMultiValue;
                let mut ev = AlbTargetGroupRequest::default();
                ev.http_method = self.method.clone();
                ev.path = Some(path.clone());
                // ALB passes query strings through undecoded.
                let mut raw_multi: HashMap<String, Vec<String>> = HashMap::new();
                for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    raw_multi
                        .entry(k.to_owned())
                        .or_default()
                        .push(v.to_owned());
                }
                if multi {
                    ev.multi_value_query_string_parameters = raw_multi.into();
                    ev.multi_value_headers = headers;
                } else {
                    let single: HashMap<String, Vec<String>> = raw_multi
                        .into_iter()
                        .map(|(k, mut v)| (k, vec![v.pop().unwrap_or_default()]))
                        .collect();
                    ev.query_string_parameters = single.into();
                    ev.headers = headers;
                }
                ev.body = body;
                ev.is_base64_encoded = b64;
                let mut elb = ElbContext::default();
                elb.target_group_arn = Some(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambada/6d0ecf831eec9f09".into(),
                );
                let mut ctx = AlbTargetGroupRequestContext::default();
                ctx.elb = elb;
                ev.request_context = ctx;
                let mut v = serde_json::to_value(ev).expect("event serializes");
                let o = v.as_object_mut().expect("object");
                // aws_lambda_events writes both header maps; ALB sends exactly one.
                if multi {
                    o.remove("headers");
                    o.remove("queryStringParameters");
                } else {
                    o.remove("multiValueHeaders");
                    o.remove("multiValueQueryStringParameters");
                }
                v
            }
        }
    }
}

const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Why a response payload is not an HTTP response (see
/// [`TestResponse::try_decode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedResponse(pub String);

impl std::fmt::Display for MalformedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MalformedResponse {}

/// What the test client's invocations carry.
const INVOCATION: Invocation<'static> = Invocation {
    request_id: "8f5e8a36-2c1a-4a7e-9d1b-3c2f4b5a6d7e",
    deadline_ms: 0,
    invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:test",
    trace_id: None,
};

/// A decoded response payload.
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    payload: serde_json::Value,
    /// The body's chunks as the function sent them (one for a buffered
    /// answer).
    chunks: Vec<Bytes>,
    streamed: bool,
    stream_error: Option<String>,
}

impl TestResponse {
    /// Decodes any of the response shapes (v1, v2, ALB).
    ///
    /// # Panics
    ///
    /// When the payload is not a response of one of those shapes (see
    /// [`try_decode`](TestResponse::try_decode)).
    pub fn decode(payload: &[u8]) -> TestResponse {
        TestResponse::try_decode(payload).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Decodes any of the response shapes (v1, v2, ALB), or says what is
    /// wrong with the payload: what API Gateway calls a malformed Lambda
    /// proxy response.
    pub fn try_decode(payload: &[u8]) -> Result<TestResponse, MalformedResponse> {
        let bad = |what: String| MalformedResponse(what);
        let v: serde_json::Value = serde_json::from_slice(payload)
            .map_err(|e| bad(format!("response payload is not JSON: {e}")))?;
        let status = v["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| {
                bad(format!(
                    "no valid statusCode in the response: {}",
                    v["statusCode"]
                ))
            })?;
        let name = |k: &str| {
            HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| bad(format!("invalid header name `{k}`")))
        };
        let value = |k: &str, val: &serde_json::Value| {
            HeaderValue::from_str(val.as_str().unwrap_or(""))
                .map_err(|_| bad(format!("invalid value for header `{k}`: {val}")))
        };
        let mut headers = HeaderMap::new();
        if let Some(m) = v["multiValueHeaders"].as_object() {
            for (k, vs) in m {
                for val in vs.as_array().into_iter().flatten() {
                    headers.append(name(k)?, value(k, val)?);
                }
            }
        }
        if let Some(m) = v["headers"].as_object() {
            for (k, val) in m {
                headers.append(name(k)?, value(k, val)?);
            }
        }
        for c in v["cookies"].as_array().into_iter().flatten() {
            headers.append(http::header::SET_COOKIE, value("set-cookie", c)?);
        }
        let body = v["body"].as_str().unwrap_or("");
        let body = if v["isBase64Encoded"].as_bool().unwrap_or(false) {
            Bytes::from(
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .map_err(|e| {
                        bad(format!(
                            "isBase64Encoded is true but the body is not base64: {e}"
                        ))
                    })?,
            )
        } else {
            Bytes::copy_from_slice(body.as_bytes())
        };
        Ok(TestResponse {
            status,
            headers,
            chunks: if body.is_empty() {
                Vec::new()
            } else {
                vec![body.clone()]
            },
            body,
            payload: v,
            streamed: false,
            stream_error: None,
        })
    }

    /// Decodes a streamed answer as it came over the Runtime API: the
    /// prelude (status, headers, cookies as JSON), eight NUL bytes, the
    /// body. A body without the prelude is a 200 with no headers, as a
    /// function URL passes it on.
    pub fn try_decode_streamed(wire: &[u8]) -> Result<TestResponse, MalformedResponse> {
        let Some(end) = wire.windows(8).position(|w| w == [0; 8]) else {
            let body = Bytes::copy_from_slice(wire);
            return Ok(TestResponse {
                status: StatusCode::OK,
                headers: HeaderMap::new(),
                chunks: vec![body.clone()],
                body,
                payload: serde_json::Value::Null,
                streamed: true,
                stream_error: None,
            });
        };
        let mut res = TestResponse::try_decode_prelude(&wire[..end])?;
        let body = Bytes::copy_from_slice(&wire[end + 8..]);
        res.chunks = vec![body.clone()];
        res.body = body;
        Ok(res)
    }

    fn try_decode_prelude(prelude: &[u8]) -> Result<TestResponse, MalformedResponse> {
        let mut v: serde_json::Value = serde_json::from_slice(prelude).map_err(|e| {
            MalformedResponse(format!("the streamed response's prelude is not JSON: {e}"))
        })?;
        if v.get("statusCode").is_none() {
            v["statusCode"] = 200.into();
        }
        let bytes = serde_json::to_vec(&v).unwrap_or_default();
        let mut res = TestResponse::try_decode(&bytes)?;
        res.streamed = true;
        res.chunks.clear();
        Ok(res)
    }

    async fn from_stream(streamed: Streamed) -> TestResponse {
        let Streamed { prelude, mut body } = streamed;
        let end = prelude.len().saturating_sub(8);
        assert_eq!(
            prelude.get(end..),
            Some(&[0u8; 8][..]),
            "a streamed answer's prelude ends with eight NUL bytes"
        );
        let mut res =
            TestResponse::try_decode_prelude(&prelude[..end]).unwrap_or_else(|e| panic!("{e}"));
        let mut all = bytes::BytesMut::new();
        while let Some(next) = crate::stream::next(&mut body).await {
            match next {
                Ok(chunk) if chunk.is_empty() => {}
                Ok(chunk) => {
                    all.extend_from_slice(&chunk);
                    res.chunks.push(chunk);
                }
                Err(e) => {
                    res.stream_error = Some(e.to_string());
                    break;
                }
            }
        }
        res.body = all.freeze();
        res
    }

    /// Whether the answer was streamed (the function URL or REST API event
    /// of a streaming route).
    pub fn is_streamed(&self) -> bool {
        self.streamed
    }

    /// The body's chunks in the order the handler made them (one for a
    /// buffered answer, none for an empty body).
    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// How a streamed body failed after its first byte, if it did (what the
    /// runtime reports in the `Lambda-Runtime-Function-Error-*` trailers).
    pub fn stream_error(&self) -> Option<&str> {
        self.stream_error.as_deref()
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The headers (from `headers`, `multiValueHeaders` and `cookies`).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// One header, as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The body bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }
    /// The body as text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }
    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
    /// The raw response payload, as Lambda would return it.
    pub fn payload(&self) -> &serde_json::Value {
        &self.payload
    }
}

/// Sends events to one trigger handler, through the code path the Lambda
/// runtime uses. From [`Client::trigger`].
#[derive(Debug, Clone)]
pub struct TriggerClient {
    app: App,
}

impl TriggerClient {
    /// Invokes the handler with `event` (any JSON: one of [`events`], a
    /// fixture, a direct-invocation payload). `Ok` is the response payload
    /// (`batchItemFailures`, the `#[invoke]` result, or `null`); `Err` is
    /// the function error Lambda would record.
    pub async fn send<T: Serialize + ?Sized>(
        &self,
        event: &T,
    ) -> Result<serde_json::Value, crate::trigger::TriggerError> {
        let payload = serde_json::to_vec(event).expect("the event serializes");
        let invocation = Invocation {
            request_id: "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
            deadline_ms: u64::MAX,
            invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:test",
            trace_id: None,
        };
        match self.app.handle_event(&payload, &invocation).await {
            Ok(body) => Ok(serde_json::from_slice(&body).expect("the response is JSON")),
            Err(EventError::Handler(e)) => Err(e),
            Err(other) => Err(crate::trigger::TriggerError::new(
                other.error_type(),
                other.to_string(),
            )),
        }
    }
}

/// Events of the non-HTTP sources, in the shapes Lambda delivers (checked
/// against the `aws_lambda_events` types by the tests). Sources are named
/// by name or ARN; names become ARNs in region us-east-1, account
/// 123456789012. `cargo lambada invoke` builds its events with these too.
pub mod events {
    use base64::Engine as _;
    use serde::Serialize;
    use serde_json::{Value, json};

    const REGION: &str = "us-east-1";
    const ACCOUNT: &str = "123456789012";

    fn arn(service: &str, resource: &str, name: &str) -> String {
        if name.starts_with("arn:") {
            name.to_owned()
        } else {
            format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}{name}")
        }
    }

    /// An SNS event with one record per message (SNS delivers one; more
    /// test a handler's loop).
    pub fn sns(topic: &str, messages: &[&str]) -> Value {
        let topic_arn = arn("sns", "", topic);
        let records: Vec<Value> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                json!({
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": format!("{topic_arn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"),
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": format!("95df01b4-ee98-5cb9-9903-4c221d41eb5{i}"),
                        "TopicArn": topic_arn,
                        "Subject": null,
                        "Message": m,
                        "Timestamp": "2026-11-25T00:00:00.000Z",
                        "SignatureVersion": "1",
                        "Signature": "EXAMPLE",
                        "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
                        "UnsubscribeUrl": format!("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:2bcfbf39"),
                        "MessageAttributes": {}
                    }
                })
            })
            .collect();
        json!({ "Records": records })
    }

    /// An SQS event; message ids are `message-1`, `message-2`, …
    pub fn sqs(queue: &str, bodies: &[&str]) -> Value {
        let queue_arn = arn("sqs", "", queue);
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                json!({
                    "messageId": format!("message-{}", i + 1),
                    "receiptHandle": format!("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a{i}"),
                    "body": b,
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": "1764028800000",
                        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                        "ApproximateFirstReceiveTimestamp": "1764028800001"
                    },
                    "messageAttributes": {},
                    "md5OfBody": format!("{:x}", md5_stub(b.as_bytes())),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue_arn,
                    "awsRegion": REGION
                })
            })
            .collect();
        json!({ "Records": records })
    }

    // Not an MD5 (nothing checks it); a stable per-body number in its place.
    fn md5_stub(b: &[u8]) -> u128 {
        b.iter()
            .fold(0x6c62272e07bb014262b821756295c58du128, |h, x| {
                (h ^ u128::from(*x)).wrapping_mul(0x1000000000000000000013b)
            })
    }

    /// A Kinesis event; sequence numbers ascend from
    /// `49590338271490256608559692538361571095921575989136588801`.
    pub fn kinesis(stream: &str, records: &[&[u8]]) -> Value {
        let stream_arn = arn("kinesis", "stream/", stream);
        let b64 = base64::engine::general_purpose::STANDARD;
        let records: Vec<Value> = records
            .iter()
            .enumerate()
            .map(|(i, d)| {
                json!({
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": format!("key-{i}"),
                        "sequenceNumber": format!("4959033827149025660855969253836157109592157598913658880{}", i + 1),
                        "data": b64.encode(d),
                        "approximateArrivalTimestamp": 1764028800.123
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": format!("shardId-000000000006:4959033827149025660855969253836157109592157598913658880{}", i + 1),
                    "eventName": "aws:kinesis:record",
                    "invokeIdentityArn": format!("arn:aws:iam::{ACCOUNT}:role/lambda-role"),
                    "awsRegion": REGION,
                    "eventSourceARN": stream_arn
                })
            })
            .collect();
        json!({ "Records": records })
    }

    /// A change for [`dynamodb`]: `INSERT` / `MODIFY` / `REMOVE` with the
    /// key and the images as plain JSON objects.
    #[derive(Debug, Clone)]
    pub struct ItemChange {
        /// `INSERT`, `MODIFY` or `REMOVE`.
        pub event_name: &'static str,
        /// The key attributes.
        pub keys: Value,
        /// The item before.
        pub old: Option<Value>,
        /// The item after.
        pub new: Option<Value>,
    }

    impl ItemChange {
        /// A new item.
        pub fn insert(keys: Value, new: Value) -> ItemChange {
            ItemChange {
                event_name: "INSERT",
                keys,
                old: None,
                new: Some(new),
            }
        }
        /// A changed item.
        pub fn modify(keys: Value, old: Value, new: Value) -> ItemChange {
            ItemChange {
                event_name: "MODIFY",
                keys,
                old: Some(old),
                new: Some(new),
            }
        }
        /// A deleted item.
        pub fn remove(keys: Value, old: Value) -> ItemChange {
            ItemChange {
                event_name: "REMOVE",
                keys,
                old: Some(old),
                new: None,
            }
        }
    }

    fn attribute_values<T: Serialize>(v: &T) -> Value {
        let item: serde_dynamo::Item =
            serde_dynamo::to_item(v).expect("a JSON object converts to a DynamoDB item");
        serde_json::to_value(item).expect("an item serializes")
    }

    /// A DynamoDB Streams event (`NEW_AND_OLD_IMAGES`), the images in
    /// DynamoDB's attribute-value JSON; sequence numbers ascend from
    /// `111`.
    pub fn dynamodb(table: &str, changes: &[ItemChange]) -> Value {
        let stream_arn = if table.starts_with("arn:") {
            table.to_owned()
        } else {
            arn(
                "dynamodb",
                "table/",
                &format!("{table}/stream/2026-11-25T00:00:00.000"),
            )
        };
        let records: Vec<Value> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut d = json!({
                    "ApproximateCreationDateTime": 1764028800,
                    "Keys": attribute_values(&c.keys),
                    "SequenceNumber": format!("{}", 111 + i),
                    "SizeBytes": 26,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                });
                if let Some(new) = &c.new {
                    d["NewImage"] = attribute_values(new);
                }
                if let Some(old) = &c.old {
                    d["OldImage"] = attribute_values(old);
                }
                json!({
                    "eventID": format!("c4ca4238a0b923820dcc509a6f75849{i}"),
                    "eventName": c.event_name,
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": REGION,
                    "dynamodb": d,
                    "eventSourceARN": stream_arn
                })
            })
            .collect();
        json!({ "Records": records })
    }

    fn http_event(
        kind: crate::EventKind,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> super::HttpEvent {
        let method = http::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut ev = super::HttpEvent::new(kind, method, path);
        ev.headers = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
            .collect();
        ev
    }

    /// The event of a REST API `TOKEN` authorizer (`#[authorizer(token)]`)
    /// asked about `method path` with `token` as the caller's credential.
    pub fn token_authorizer(token: &str, method: &str, path: &str) -> Value {
        http_event(
            crate::EventKind::RestV1,
            method,
            path,
            &[("authorization", token)],
        )
        .authorizer_event(Some("authorization"), &[])
    }

    /// The event of a REST API `REQUEST` authorizer asked about a request.
    pub fn request_authorizer(method: &str, path: &str, headers: &[(&str, &str)]) -> Value {
        http_event(crate::EventKind::RestV1, method, path, headers).authorizer_event(None, &[])
    }

    /// The event of an HTTP API authorizer (payload format 2.0) asked about
    /// a request; `identitySource` holds the header values.
    pub fn http_authorizer(method: &str, path: &str, headers: &[(&str, &str)]) -> Value {
        let identity: Vec<String> = headers.iter().map(|(_, v)| (*v).to_owned()).collect();
        let mut ev = http_event(crate::EventKind::HttpV2, method, path, headers);
        ev.stage = "$default".into();
        ev.authorizer_event(None, &identity)
    }

    /// An S3 event notification with one record per key (S3 sends one),
    /// `event_name` as S3 writes it (`ObjectCreated:Put`, no `s3:`).
    /// Keys are encoded as S3 encodes them (`+` for a space, `%XX` for the
    /// rest of what is not a letter, digit or one of `-_.*/`), so handlers
    /// see them decoded as on Lambda.
    pub fn s3(bucket: &str, event_name: &str, keys: &[&str]) -> Value {
        let records: Vec<Value> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                json!({
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": REGION,
                    "eventTime": "2026-11-25T00:00:00.000Z",
                    "eventName": event_name,
                    "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
                    "requestParameters": {"sourceIPAddress": "203.0.113.7"},
                    "responseElements": {
                        "x-amz-request-id": format!("C3D13FE58DE4C81{i}"),
                        "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
                    },
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "lambada",
                        "bucket": {
                            "name": bucket,
                            "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                            "arn": format!("arn:aws:s3:::{bucket}")
                        },
                        "object": {
                            "key": s3_key(key),
                            "size": 1024,
                            "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                            "sequencer": format!("0055AED6DCD90281E{i}")
                        }
                    }
                })
            })
            .collect();
        json!({ "Records": records })
    }

    /// A key as S3 writes it in notifications.
    fn s3_key(key: &str) -> String {
        let mut out = String::new();
        for b in key.bytes() {
            match b {
                b' ' => out.push('+'),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                    out.push(char::from(b))
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }

    /// An event as EventBridge delivers it to a rule's target: `source`,
    /// `detail-type` and `detail` as given, on the default bus.
    pub fn event_bridge<T: Serialize>(source: &str, detail_type: &str, detail: &T) -> Value {
        json!({
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": detail_type,
            "source": source,
            "account": ACCOUNT,
            "time": "2026-11-25T00:00:00Z",
            "region": REGION,
            "resources": [],
            "detail": serde_json::to_value(detail).expect("the detail serializes")
        })
    }

    /// The event an EventBridge schedule rule sends (when its target has no
    /// constant input; with one, the function receives that input).
    pub fn schedule(rule: &str) -> Value {
        json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": "2026-11-25T00:00:00Z",
            "region": REGION,
            "resources": [arn("events", "rule/", rule)],
            "detail": {}
        })
    }
}
