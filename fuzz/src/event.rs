//! HTTP events: arbitrary bytes ([`bytes`]) and well-formed events of every
//! kind built from an [`arbitrary`] structure ([`structured`]), dispatched
//! through [`App::handle_event`](lambada::App::handle_event), with the
//! response checked against what the request asked for.

use std::collections::HashMap;

use arbitrary::{Arbitrary, Unstructured};
use lambada::test::{HttpEvent, TestResponse};
use lambada::{Auth, CorsSetting, Route};
use lambada::{EventError, EventKind};
use lambada_path::Segment;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Value, json};

use crate::app::{self, APP_ORIGIN, PREVIEW_SUFFIX};
use crate::check;

/// Arbitrary bytes as an event: never a panic; an answer only to an HTTP
/// event, in its shape; a 2xx only from a handler or a preflight; a 5xx
/// only from the handlers that fail on purpose.
pub fn bytes(data: &[u8]) {
    app::take_ran();
    let res = crate::dispatch(crate::http_app(), data);
    let ran = app::take_ran();
    match res {
        Ok(payload) => {
            let kind = serde_json::from_slice::<Value>(data)
                .ok()
                .map(|v| check::classify(&v));
            let res = match kind {
                Some(None) => panic!("an answer to an event that is no HTTP event"),
                Some(Some(k)) => check::response(Some(k), &payload),
                None => check::response(None, &payload),
            };
            let status = res.status().as_u16();
            assert!(ran.len() <= 1, "several handlers ran: {ran:?}");
            if res.status().is_success() && ran.is_empty() {
                // Only a CORS preflight is answered without a handler.
                assert_eq!(status, 204, "a {status} without a handler");
                assert!(res.header("access-control-allow-methods").is_some());
            }
            if res.status().is_server_error() {
                assert!(
                    matches!(
                        ran.first(),
                        Some(&("boom" | "boom_post" | "err" | "status"))
                    ),
                    "a {status} from {ran:?}: {}",
                    String::from_utf8_lossy(&payload)
                );
            }
        }
        Err(e) => {
            assert!(
                ran.is_empty(),
                "a handler ran for an event refused: {ran:?}"
            );
            assert!(!matches!(e, EventError::Handler(_)));
            assert!(e.error_type().starts_with("Lambada."));
            let _ = e.to_string();
        }
    }
}

// --------------------------------------------------------- the input ----

/// An HTTP method: the routes' ones, HEAD and OPTIONS, or any token.
#[derive(Debug, Clone, Arbitrary)]
pub enum Meth {
    Get,
    Post,
    Put,
    Delete,
    Patch,
    Head,
    Options,
    Other(String),
}

impl Meth {
    fn to_http(&self) -> http::Method {
        match self {
            Meth::Get => http::Method::GET,
            Meth::Post => http::Method::POST,
            Meth::Put => http::Method::PUT,
            Meth::Delete => http::Method::DELETE,
            Meth::Patch => http::Method::PATCH,
            Meth::Head => http::Method::HEAD,
            Meth::Options => http::Method::OPTIONS,
            Meth::Other(m) => http::Method::from_bytes(m.as_bytes()).unwrap_or(http::Method::TRACE),
        }
    }
}

/// A path segment's value, biased towards what typed parameters parse.
#[derive(Debug, Clone, Arbitrary)]
pub enum Seg {
    Text(String),
    U32(u32),
    I64(i64),
    Float(f64),
    Bool(bool),
    Char(char),
    Ip([u8; 4]),
    Literal(u8),
}

impl Seg {
    fn value(&self) -> String {
        match self {
            Seg::Text(s) => s.clone(),
            Seg::U32(n) => n.to_string(),
            Seg::I64(n) => n.to_string(),
            Seg::Float(f) => f.to_string(),
            Seg::Bool(b) => b.to_string(),
            Seg::Char(c) => c.to_string(),
            Seg::Ip(a) => std::net::Ipv4Addr::from(*a).to_string(),
            Seg::Literal(i) => {
                const L: [&str; 12] = [
                    "hello", "world", "files", "echo", "items", "boom", "feed", "private",
                    "reports", "me", "head", "manual",
                ];
                L[*i as usize % L.len()].to_owned()
            }
        }
    }
}

/// What the request asks for: a route of the table with its parameters
/// filled from `segs` (a tail takes the rest), or any path.
#[derive(Debug, Clone, Arbitrary)]
pub struct Target {
    route: Option<u8>,
    segs: Vec<Seg>,
}

/// The route template API Gateway matched, as the event names it.
#[derive(Debug, Clone, Arbitrary)]
pub enum TemplateMode {
    /// The route's own (REST `resource`, HTTP API `routeKey`).
    Routed,
    /// `/{proxy+}` / `$default`: routed on the path.
    Proxy,
    /// A template the table does not have.
    Other(String),
}

#[derive(Debug, Clone, Arbitrary)]
pub enum QueryKey {
    Dry,
    Tag,
    To,
    Code,
    N,
    V,
    Id,
    Page,
    PerPage,
    Sort,
    Any(String),
}

impl QueryKey {
    fn name(&self) -> &str {
        match self {
            QueryKey::Dry => "dry",
            QueryKey::Tag => "tag",
            QueryKey::To => "to",
            QueryKey::Code => "code",
            QueryKey::N => "n",
            QueryKey::V => "v",
            QueryKey::Id => "id",
            QueryKey::Page => "page",
            QueryKey::PerPage => "per_page",
            QueryKey::Sort => "sort",
            QueryKey::Any(s) => s,
        }
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub enum OriginIn {
    App,
    AppUpper,
    Preview(String),
    Other(String),
}

impl OriginIn {
    fn value(&self) -> String {
        match self {
            OriginIn::App => APP_ORIGIN.to_owned(),
            OriginIn::AppUpper => APP_ORIGIN.to_ascii_uppercase(),
            OriginIn::Preview(sub) => format!("https://{sub}{PREVIEW_SUFFIX}"),
            OriginIn::Other(o) => o.clone(),
        }
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub struct PreflightIn {
    method: Meth,
    padded: bool,
    headers: Option<String>,
}

#[derive(Debug, Clone, Arbitrary)]
pub enum ContentType {
    None,
    Json,
    JsonCharset,
    ProblemJson,
    Form,
    FormUpper,
    Text,
    Octet,
    Other(String),
}

impl ContentType {
    fn value(&self) -> Option<String> {
        Some(
            match self {
                ContentType::None => return None,
                ContentType::Json => "application/json",
                ContentType::JsonCharset => "application/json; charset=utf-8",
                ContentType::ProblemJson => "application/problem+json",
                ContentType::Form => "application/x-www-form-urlencoded",
                ContentType::FormUpper => "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
                ContentType::Text => "text/plain",
                ContentType::Octet => "application/octet-stream",
                ContentType::Other(s) => s,
            }
            .to_owned(),
        )
    }
}

/// A JSON value of bounded depth.
#[derive(Debug, Clone)]
pub struct Json(pub Value);

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Json> {
        fn value(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Value> {
            let top = if depth >= 4 { 5 } else { 7 };
            Ok(match u.int_in_range(0..=top)? {
                0 => Value::Null,
                1 => Value::Bool(u.arbitrary()?),
                2 => Value::from(u.arbitrary::<i64>()?),
                3 => Value::from(u.arbitrary::<u64>()?),
                4 => {
                    serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number)
                }
                5 => Value::String(u.arbitrary()?),
                6 => {
                    let n = u.int_in_range(0..=4)?;
                    Value::Array(
                        (0..n)
                            .map(|_| value(u, depth + 1))
                            .collect::<Result<_, _>>()?,
                    )
                }
                _ => {
                    let n = u.int_in_range(0..=4)?;
                    let mut m = serde_json::Map::new();
                    for _ in 0..n {
                        m.insert(u.arbitrary()?, value(u, depth + 1)?);
                    }
                    Value::Object(m)
                }
            })
        }
        value(u, 0).map(Json)
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub enum BodyIn {
    Json(Json),
    Form(Vec<(String, String)>),
    Text(String),
    Bytes(Vec<u8>),
}

/// What an authorizer said, in the event kind's own shape.
#[derive(Debug, Clone, Arbitrary)]
pub enum AuthIn {
    None,
    /// JWT / Cognito claims, with `jwt.scopes` (HTTP APIs) when given.
    Claims {
        scope: Option<String>,
        sub: String,
        scopes: Option<Vec<String>>,
    },
    /// A Lambda authorizer's context.
    Context(Vec<(String, String)>),
    /// Anything.
    Raw(Json),
}

/// A change to the built event's JSON; any of these makes the target
/// check only that nothing panics and that an answer is well-formed.
#[derive(Debug, Clone, Arbitrary)]
pub enum Mutation {
    Set(u8, Json),
    Remove(u8),
    Base64Flag(bool),
}

const FIELDS: [&str; 24] = [
    "/path",
    "/rawPath",
    "/resource",
    "/routeKey",
    "/httpMethod",
    "/headers",
    "/multiValueHeaders",
    "/queryStringParameters",
    "/multiValueQueryStringParameters",
    "/rawQueryString",
    "/pathParameters",
    "/body",
    "/isBase64Encoded",
    "/cookies",
    "/requestContext",
    "/requestContext/http",
    "/requestContext/http/method",
    "/requestContext/stage",
    "/requestContext/authorizer",
    "/requestContext/elb",
    "/requestContext/domainName",
    "/requestContext/identity",
    "/version",
    "/headers/origin",
];

/// A request of any kind, method, path, query, headers, cookies, body,
/// stage and authorizer result.
#[derive(Debug, Clone, Arbitrary)]
pub struct Input {
    kind: u8,
    method: Meth,
    target: Target,
    template: TemplateMode,
    query: Vec<(QueryKey, String)>,
    client: Option<String>,
    count: Option<String>,
    tags: Vec<String>,
    api_key: Option<String>,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    origin: Option<OriginIn>,
    preflight: Option<PreflightIn>,
    content_type: ContentType,
    body: Option<BodyIn>,
    stage: Option<String>,
    auth: AuthIn,
    mutations: Vec<Mutation>,
}

// ------------------------------------------------------- the request ----

/// Every byte but the unreserved ones: what a client sends for a segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Names the target sets itself, so the arbitrary headers leave them out.
const RESERVED: [&str; 10] = [
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "content-type",
    "x-client",
    "x-count",
    "x-tag",
    "x-api-key",
    "cookie",
    "authorization",
];

/// The request as built, and what the runtime should see of it.
struct Built {
    kind: EventKind,
    method: http::Method,
    /// The route the target named, if any.
    route: Option<&'static Route>,
    /// The template the event carries (REST, HTTP API), if any.
    template: Option<String>,
    /// The path values of the target's route, decoded.
    params: Vec<(String, String)>,
    /// The path the runtime matches when it does not go by the template.
    view_path: String,
    /// Whether `view_path` is percent-encoded (every kind but HTTP API).
    encoded: bool,
    /// The query pairs, decoded.
    query: Vec<(String, String)>,
    /// Header values by name, as the runtime sees them.
    headers: HashMap<String, Vec<String>>,
    body: Vec<u8>,
    authorizer: Option<Value>,
    event: Vec<u8>,
}

fn kind_of(k: u8) -> EventKind {
    EventKind::LAMBDA[k as usize % EventKind::LAMBDA.len()]
}

fn table() -> Vec<&'static Route> {
    crate::http_app().routes().iter().collect()
}

/// Fills the route's parameters from `segs`: the path as sent, and the
/// decoded values.
fn fill(route: &Route, segs: &[Seg]) -> (String, Vec<(String, String)>) {
    let mut values = segs.iter().map(Seg::value);
    let mut path = String::new();
    let mut params = Vec::new();
    for s in route.segments {
        path.push('/');
        match s {
            Segment::Literal(l) => path.push_str(l),
            Segment::Param(n) => {
                let v = values.next().unwrap_or_else(|| "x".into());
                path.extend(utf8_percent_encode(&v, SEGMENT));
                params.push(((*n).to_owned(), v));
            }
            Segment::Tail(n) => {
                let rest: Vec<String> = values.by_ref().collect();
                let rest = if rest.is_empty() {
                    vec!["x".to_owned()]
                } else {
                    rest
                };
                let encoded: Vec<String> = rest
                    .iter()
                    .map(|v| utf8_percent_encode(v, SEGMENT).to_string())
                    .collect();
                path.push_str(&encoded.join("/"));
                params.push(((*n).to_owned(), rest.join("/")));
            }
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    (path, params)
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A header value as `HttpEvent` keeps it: valid ones only.
fn header_ok(v: &str) -> bool {
    http::HeaderValue::from_str(v).is_ok()
}

fn build(input: &Input) -> Option<Built> {
    let kind = kind_of(input.kind);
    let method = input.method.to_http();
    let table = table();
    let route = input.target.route.map(|i| table[i as usize % table.len()]);
    let (path, params) = match route {
        Some(r) => fill(r, &input.target.segs),
        None => {
            let mut p = String::new();
            for s in &input.target.segs {
                p.push('/');
                p.extend(utf8_percent_encode(&s.value(), SEGMENT));
            }
            if p.is_empty() {
                p.push('/');
            }
            (p, Vec::new())
        }
    };
    let query = &input.query;
    let raw_query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k.name()), form_encode(v)))
        .collect();
    let uri = if raw_query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{}", raw_query.join("&"))
    };

    // Headers, in order; names are lowercase (HeaderName normalises them).
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(o) = &input.origin {
        headers.push(("origin".into(), o.value()));
    }
    if let Some(p) = &input.preflight {
        let m = p.method.to_http().to_string();
        let m = if p.padded { format!(" {m} ") } else { m };
        headers.push(("access-control-request-method".into(), m));
        if let Some(h) = &p.headers {
            headers.push(("access-control-request-headers".into(), h.clone()));
        }
    }
    if let Some(ct) = input.content_type.value() {
        headers.push(("content-type".into(), ct));
    }
    if let Some(c) = &input.client {
        headers.push(("x-client".into(), c.clone()));
    }
    if let Some(c) = &input.count {
        headers.push(("x-count".into(), c.clone()));
    }
    for t in &input.tags {
        headers.push(("x-tag".into(), t.clone()));
    }
    if let Some(k) = &input.api_key {
        headers.push(("x-api-key".into(), k.clone()));
    }
    let mut seen_extra: Vec<String> = Vec::new();
    for (k, v) in &input.headers {
        let Ok(name) = http::HeaderName::from_bytes(k.as_bytes()) else {
            continue;
        };
        let name = name.as_str().to_owned();
        if RESERVED.contains(&name.as_str()) || seen_extra.contains(&name) {
            continue;
        }
        seen_extra.push(name.clone());
        headers.push((name, v.clone()));
    }
    let cookie_header: Vec<String> = input
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !cookie_header.is_empty() {
        headers.push(("cookie".into(), cookie_header.join("; ")));
    }
    // What HttpEvent keeps: valid values only.
    headers.retain(|(_, v)| header_ok(v));

    let body: Option<Vec<u8>> = input.body.as_ref().map(|b| match b {
        BodyIn::Json(j) => serde_json::to_vec(&j.0).unwrap_or_default(),
        BodyIn::Form(pairs) => {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                s.append_pair(k, v);
            }
            s.finish().into_bytes()
        }
        BodyIn::Text(t) => t.clone().into_bytes(),
        BodyIn::Bytes(b) => b.clone(),
    });

    let routed = matches!(input.template, TemplateMode::Routed)
        && route.is_some()
        && matches!(kind, EventKind::RestV1 | EventKind::HttpV2);
    let template = match &input.template {
        TemplateMode::Routed if routed => route.map(|r| r.apigw_path.to_owned()),
        TemplateMode::Other(t) if matches!(kind, EventKind::RestV1 | EventKind::HttpV2) => {
            Some(t.clone())
        }
        _ => None,
    };
    // ALB events carry no authorizer result.
    let alb = matches!(kind, EventKind::Alb | EventKind::AlbMultiValue);
    let authorizer = match &input.auth {
        _ if alb => None,
        AuthIn::None => None,
        AuthIn::Claims { scope, sub, scopes } => {
            let mut claims = serde_json::Map::new();
            claims.insert("sub".into(), sub.clone().into());
            if let Some(s) = scope {
                claims.insert("scope".into(), s.clone().into());
            }
            Some(match kind {
                EventKind::HttpV2 | EventKind::FunctionUrl => {
                    json!({"jwt": {"claims": claims, "scopes": scopes}})
                }
                _ => json!({"claims": claims}),
            })
        }
        AuthIn::Context(pairs) => {
            let m: serde_json::Map<String, Value> = pairs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            Some(match kind {
                EventKind::HttpV2 | EventKind::FunctionUrl => json!({"lambda": m}),
                _ => {
                    let mut m = m;
                    m.entry("principalId").or_insert_with(|| "user".into());
                    Value::Object(m)
                }
            })
        }
        AuthIn::Raw(j) => Some(j.0.clone()),
    };

    let mut ev = HttpEvent::new(kind, method.clone(), uri);
    ev.headers = headers.clone();
    ev.body = body.clone();
    ev.template = template
        .clone()
        .filter(|_| kind == EventKind::RestV1 || routed);
    ev.params = if routed { params.clone() } else { Vec::new() };
    ev.authorizer = authorizer.clone();
    if let Some(s) = &input.stage {
        ev.stage = s.clone();
    }
    let mut v = ev.to_value();

    // An HTTP API's own template that the table does not have.
    if let (EventKind::HttpV2, TemplateMode::Other(t)) = (kind, &input.template) {
        v["routeKey"] = format!("{method} {t}").into();
    }
    // The path the runtime matches on.
    let mut view_path = path.clone();
    let encoded = kind != EventKind::HttpV2;
    if kind == EventKind::HttpV2 {
        view_path = percent_decode_str(&path).decode_utf8_lossy().into_owned();
        // A named stage is in front of rawPath; the runtime strips it.
        if let Some(s) = input.stage.as_ref().filter(|s| s.as_str() != "$default") {
            v["requestContext"]["stage"] = s.clone().into();
            v["rawPath"] = format!("/{s}{view_path}").into();
        }
    }
    let mutated = !input.mutations.is_empty();
    for m in &input.mutations {
        match m {
            Mutation::Set(i, j) => {
                if let Some(slot) = v.pointer_mut(FIELDS[*i as usize % FIELDS.len()]) {
                    *slot = j.0.clone();
                }
            }
            Mutation::Remove(i) => {
                let f = FIELDS[*i as usize % FIELDS.len()];
                let (parent, key) = f.rsplit_once('/').unwrap_or(("", f));
                if let Some(Value::Object(o)) = v.pointer_mut(parent) {
                    o.remove(key);
                }
            }
            Mutation::Base64Flag(b) => v["isBase64Encoded"] = (*b).into(),
        }
    }
    let event = serde_json::to_vec(&v).expect("a JSON value serializes");
    if mutated {
        return None.or_else(|| {
            weak(kind, &event);
            None
        });
    }

    // What the runtime sees of the query and headers.
    let decoded_query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.name().to_owned(), v.clone()))
        .collect();
    let query = match kind {
        EventKind::Alb => {
            // One value per key: the last.
            let mut out: Vec<(String, String)> = Vec::new();
            for (k, v) in decoded_query {
                out.retain(|(x, _)| *x != k);
                out.push((k, v));
            }
            out
        }
        _ => decoded_query,
    };
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in &headers {
        seen.entry(k.clone()).or_default().push(v.clone());
    }
    let mut hview: HashMap<String, Vec<String>> = HashMap::new();
    for (k, vs) in seen {
        let vs = match kind {
            EventKind::RestV1 | EventKind::AlbMultiValue => vs,
            EventKind::Alb => vs.into_iter().take(1).collect(),
            _ if k == "cookie" => vec![
                vs.iter()
                    .flat_map(|v| {
                        let v = http::HeaderValue::from_str(v)
                            .ok()
                            .and_then(|h| h.to_str().ok().map(str::to_owned))
                            .unwrap_or_default();
                        v.split(';')
                            .map(|c| c.trim().to_owned())
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ],
            _ => {
                let vs: Vec<String> = vs
                    .iter()
                    .map(|v| {
                        http::HeaderValue::from_str(v)
                            .ok()
                            .and_then(|h| h.to_str().ok().map(str::to_owned))
                            .unwrap_or_default()
                    })
                    .collect();
                if vs.len() == 1 {
                    // A lone value is kept as is, even when not ASCII.
                    vec![
                        headers
                            .iter()
                            .find(|(x, _)| *x == k)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default(),
                    ]
                } else {
                    vec![vs.join(",")]
                }
            }
        };
        hview.insert(k, vs);
    }
    Some(Built {
        kind,
        method,
        route,
        template: template.filter(|_| matches!(kind, EventKind::RestV1 | EventKind::HttpV2)),
        params,
        view_path,
        encoded,
        query,
        headers: hview,
        body: body.unwrap_or_default(),
        authorizer,
        event,
    })
}

/// A mutated event: no panic, and an answer is well-formed.
fn weak(kind: EventKind, event: &[u8]) {
    app::take_ran();
    let res = crate::dispatch(crate::http_app(), event);
    let ran = app::take_ran();
    match res {
        Ok(payload) => {
            let v: Value = serde_json::from_slice(event).expect("the event is JSON");
            let k = check::classify(&v).unwrap_or_else(|| {
                panic!("an answer to an event that is no HTTP event (was {kind:?})")
            });
            check::response(Some(k), &payload);
            assert!(ran.len() <= 1, "several handlers ran: {ran:?}");
        }
        Err(e) => {
            assert!(ran.is_empty());
            let _ = e.to_string();
        }
    }
}

// ------------------------------------------------------- the oracle ----

/// How the table answers a path, computed apart from the router.
enum Hit {
    Route(&'static Route, Vec<(String, String)>, bool),
    NotAllowed(&'static Route, Vec<lambada::Method>),
    NotFound,
}

/// Matches `path` against a route's segments (parameters match one
/// non-empty segment, a tail the non-empty rest); the raw values.
fn match_path(segments: &[Segment<'_>], path: &str) -> Option<Vec<(String, String)>> {
    let rest = path.strip_prefix('/')?;
    if segments.is_empty() {
        return rest.is_empty().then(Vec::new);
    }
    let mut rest = rest;
    let mut out = Vec::new();
    for (i, s) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let (seg, after) = match rest.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (rest, None),
        };
        match s {
            Segment::Tail(n) => {
                if rest.is_empty() {
                    return None;
                }
                out.push(((*n).to_owned(), rest.to_owned()));
                return Some(out);
            }
            Segment::Literal(l) => {
                if seg != *l {
                    return None;
                }
            }
            Segment::Param(n) => {
                if seg.is_empty() {
                    return None;
                }
                out.push(((*n).to_owned(), seg.to_owned()));
            }
        }
        match (last, after) {
            (true, None) => return Some(out),
            (true, Some(_)) | (false, None) => return None,
            (false, Some(a)) => rest = a,
        }
    }
    None
}

/// Literal before parameter before tail, segment by segment.
fn rank(segments: &[Segment<'_>]) -> Vec<u8> {
    segments
        .iter()
        .map(|s| match s {
            Segment::Literal(_) => 0,
            Segment::Param(_) => 1,
            Segment::Tail(_) => 2,
        })
        .collect()
}

fn pick(
    group: &[&'static Route],
    method: &http::Method,
) -> Result<(&'static Route, bool), Vec<lambada::Method>> {
    if let Some(r) = group.iter().find(|r| r.method.as_str() == method.as_str()) {
        return Ok((r, false));
    }
    if method == http::Method::HEAD
        && let Some(r) = group.iter().find(|r| r.method == lambada::Method::Get)
    {
        return Ok((r, true));
    }
    let mut allowed: Vec<lambada::Method> = group.iter().map(|r| r.method).collect();
    if allowed.contains(&lambada::Method::Get) {
        allowed.push(lambada::Method::Head);
    }
    allowed.sort();
    allowed.dedup();
    Err(allowed)
}

fn expect_hit(b: &Built) -> Hit {
    let table = table();
    if let Some(t) = &b.template {
        let group: Vec<&'static Route> = table
            .iter()
            .copied()
            .filter(|r| r.apigw_path == t)
            .collect();
        if !group.is_empty() {
            return match pick(&group, &b.method) {
                Ok((r, head)) => Hit::Route(r, b.params.clone(), head),
                Err(allowed) => Hit::NotAllowed(group[0], allowed),
            };
        }
    }
    let mut candidates: Vec<(&'static Route, Vec<(String, String)>)> = table
        .iter()
        .filter_map(|r| match_path(r.segments, &b.view_path).map(|p| (*r, p)))
        .collect();
    candidates.sort_by_key(|(r, _)| rank(r.segments));
    let Some((best, raw)) = candidates.first().cloned() else {
        return Hit::NotFound;
    };
    let group: Vec<&'static Route> = table
        .iter()
        .copied()
        .filter(|r| r.matchit_path == best.matchit_path)
        .collect();
    let params = raw
        .into_iter()
        .map(|(k, v)| {
            let v = if b.encoded {
                percent_decode_str(&v).decode_utf8_lossy().into_owned()
            } else {
                v
            };
            (k, v)
        })
        .collect();
    match pick(&group, &b.method) {
        Ok((r, head)) => Hit::Route(r, params, head),
        Err(allowed) => Hit::NotAllowed(group[0], allowed),
    }
}

/// A CORS policy of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Policy {
    /// The table's: two origin rules, credentials.
    Table,
    /// `feed`'s own: any origin, no credentials.
    Public,
}

fn policy_of(r: &Route) -> Option<Policy> {
    match r.cors {
        CorsSetting::Table => Some(Policy::Table),
        CorsSetting::Off => None,
        CorsSetting::Own(_) => Some(Policy::Public),
    }
}

fn allows(p: Policy, origin: &str) -> bool {
    match p {
        Policy::Public => true,
        Policy::Table => {
            let o = origin.to_ascii_lowercase();
            o == APP_ORIGIN
                || o.strip_prefix("https://")
                    .and_then(|h| h.strip_suffix(PREVIEW_SUFFIX))
                    .is_some_and(|sub| {
                        sub.split('.').all(|l| {
                            !l.is_empty()
                                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        })
                    })
        }
    }
}

impl Built {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }
    fn header_all(&self, name: &str) -> Vec<String> {
        self.headers.get(name).cloned().unwrap_or_default()
    }
    fn query_first(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn query_all(&self, name: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
    fn content_type(&self) -> Option<String> {
        self.header("content-type").map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
    fn cookie(&self, name: &str) -> Option<String> {
        self.header_all("cookie")
            .iter()
            .flat_map(|h| h.split(';').map(str::to_owned).collect::<Vec<_>>())
            .filter_map(|c| {
                let c = c.trim();
                if c.is_empty() {
                    return None;
                }
                let (k, v) = c.split_once('=').unwrap_or((c, ""));
                Some((k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
            })
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// What a handler answers: a status (or one of a few), and maybe the body.
struct Expect {
    statuses: Vec<u16>,
    body: Option<Vec<u8>>,
}

impl Expect {
    fn status(s: u16) -> Expect {
        Expect {
            statuses: vec![s],
            body: None,
        }
    }
    fn ok(body: impl Into<Vec<u8>>) -> Expect {
        Expect {
            statuses: vec![200],
            body: Some(body.into()),
        }
    }
    fn any(statuses: &[u16]) -> Expect {
        Expect {
            statuses: statuses.to_vec(),
            body: None,
        }
    }
}

/// A JSON body's status: `Json<T>` wants a JSON media type, then a JSON
/// document (`Value` takes any).
fn json_body(b: &Built) -> Result<Value, u16> {
    match b.content_type() {
        Some(ct) if ct == "application/json" || ct.ends_with("+json") => {}
        _ => return Err(415),
    }
    serde_json::from_slice::<Value>(&b.body).map_err(|_| 400)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The authorizer result as the runtime reads it: absent, null or `{}`
/// is none.
fn auth_result(b: &Built) -> Option<&Value> {
    b.authorizer
        .as_ref()
        .filter(|v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty()))
}

fn expect_handler(r: &Route, params: &[(String, String)], b: &Built) -> Expect {
    // Authorizers first: `report` needs a Lambda authorizer's context,
    // `me` JWT claims with one of its scopes.
    match r.auth {
        Auth::Function(_) | Auth::Authorizer(_) => {
            let Some(result) = auth_result(b) else {
                return Expect::status(401);
            };
            let claims = result
                .pointer("/jwt/claims")
                .or_else(|| result.get("claims"))
                .and_then(Value::as_object);
            if !r.scopes.is_empty()
                && let Some(c) = claims
            {
                let held: Vec<String> = match result
                    .pointer("/jwt/scopes")
                    .and_then(Value::as_array)
                {
                    Some(l) => l
                        .iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect(),
                    None => match c.get("scope").or_else(|| c.get("scp")) {
                        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
                        Some(Value::Array(a)) => a
                            .iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect(),
                        _ => Vec::new(),
                    },
                };
                if !r.scopes.iter().any(|s| held.iter().any(|h| h == s)) {
                    return Expect::status(403);
                }
            }
        }
        Auth::Default | Auth::Public => {}
    }
    let p = |n: &str| param(params, n);
    match r.handler {
        "hello" => match p("id").parse::<u32>() {
            Ok(id) => Expect::ok(format!("Hello world: {id}")),
            Err(_) => Expect::status(400),
        },
        "hello_world" => Expect::ok("Hello, world"),
        "files" => Expect::ok(p("rest")),
        "echo" => Expect::ok(p("s")),
        "typed" => {
            let ok = p("i").parse::<i64>().is_ok()
                && p("f").parse::<f64>().is_ok()
                && p("b").parse::<bool>().is_ok()
                && p("c").parse::<char>().is_ok();
            Expect::status(if ok { 200 } else { 400 })
        }
        "ip" => {
            let ok = p("addr").parse::<std::net::IpAddr>().is_ok()
                && b.query_first("id")
                    .is_none_or(|id| id.parse::<uuid::Uuid>().is_ok());
            Expect::status(if ok { 200 } else { 400 })
        }
        "item" => match p("id").parse::<u32>() {
            Ok(id) => Expect::ok(
                serde_json::to_vec(&json!({"id": id, "client": b.header("x-client")})).unwrap(),
            ),
            Err(_) => Expect::status(400),
        },
        "put_item" => match (p("id").parse::<u32>(), json_body(b)) {
            (Err(_), _) => Expect::status(400),
            (_, Err(s)) => Expect::status(s),
            (Ok(_), Ok(_)) => Expect::status(200),
        },
        "delete_item" => Expect::status(if p("id").parse::<u32>().is_ok() {
            204
        } else {
            400
        }),
        "create" => {
            if b.query_first("dry")
                .is_some_and(|d| d.parse::<bool>().is_err())
            {
                return Expect::status(400);
            }
            match json_body(b) {
                Err(s) => Expect::status(s),
                Ok(v) => Expect {
                    statuses: vec![201],
                    body: Some(
                        serde_json::to_vec(&json!({
                            "dry": b.query_first("dry").map(|d| d == "true"),
                            "tag": b.query_all("tag"),
                            "body": v,
                        }))
                        .unwrap(),
                    ),
                },
            }
        }
        "form" => {
            if p("id").parse::<i64>().is_err()
                || b.header("x-count")
                    .is_some_and(|c| c.parse::<u8>().is_err())
            {
                return Expect::status(400);
            }
            if b.content_type().as_deref() != Some("application/x-www-form-urlencoded") {
                return Expect::status(415);
            }
            Expect::any(&[200, 400])
        }
        "root" | "page" => Expect::any(&[200, 400]),
        "state" => Expect::status(200),
        "ctx" | "text" if std::str::from_utf8(&b.body).is_err() => Expect::status(400),
        "ctx" => Expect::status(200),
        "report" => {
            // A Lambda authorizer's context: `lambda` (HTTP APIs) or the
            // result itself (REST), not a JWT or IAM result.
            let fits = auth_result(b).is_some_and(|r| match r.get("lambda") {
                Some(l) => l.is_object(),
                None => r.get("jwt").is_none() && r.get("iam").is_none() && r.is_object(),
            });
            if fits {
                Expect::ok(
                    serde_json::to_vec(&json!({
                        "period": p("period"),
                        "context": auth_result(b).map(|r| r.get("lambda").unwrap_or(r)),
                    }))
                    .unwrap(),
                )
            } else {
                Expect::status(401)
            }
        }
        "me" => {
            if auth_result(b).is_some_and(|r| {
                r.pointer("/jwt/claims")
                    .or_else(|| r.get("claims"))
                    .and_then(Value::as_object)
                    .is_none()
            }) {
                Expect::status(401)
            } else {
                Expect::status(200)
            }
        }
        "cookie" => Expect::status(if b.cookie("session").is_some() {
            200
        } else {
            400
        }),
        "raw" | "vec_body" => Expect::ok(b.body.clone()),
        "text" => Expect::ok(b.body.clone()),
        "byte_len" => match p("id").parse::<u8>() {
            Ok(id) => Expect::ok(format!("{id} {}", b.body.len())),
            Err(_) => Expect::status(400),
        },
        "boom" => Expect::status(500),
        "boom_post" => Expect::status(if std::str::from_utf8(&b.body).is_ok() {
            500
        } else {
            400
        }),
        "feed" => Expect::ok("[1,2,3]"),
        "private" => Expect::ok("private"),
        "status" => match p("code").parse::<u16>() {
            Ok(c) if (200..600).contains(&c) => Expect {
                statuses: vec![c],
                body: Some(b"status".to_vec()),
            },
            _ => Expect::status(400),
        },
        "go" => {
            let code = b.query_first("code").map(|c| c.parse::<u16>());
            match (b.query_first("to"), code) {
                (None, _) | (_, Some(Err(_))) => Expect::status(400),
                (Some(_), c) => Expect::status(
                    c.and_then(Result::ok)
                        .filter(|c| matches!(c, 301 | 303 | 307 | 308))
                        .unwrap_or(302),
                ),
            }
        }
        "set_cookies" => match b.query_first("n").map(|n| n.parse::<u8>()) {
            Some(Ok(_)) => Expect::ok("cookies"),
            _ => Expect::status(400),
        },
        "head_only" => Expect::status(200),
        "manual" => Expect::ok("manual options"),
        "err" => match p("n").parse::<u8>() {
            Ok(0) => Expect::status(404),
            Ok(1) => Expect::status(503),
            Ok(n) => Expect::ok(n.to_string()),
            Err(_) => Expect::status(400),
        },
        "bin" => match p("n").parse::<u8>() {
            Ok(n) => Expect::ok((0..n).collect::<Vec<u8>>()),
            Err(_) => Expect::status(400),
        },
        other => panic!("no expectation for the handler `{other}`"),
    }
}

/// A well-formed request: the answer the table's routes, CORS settings and
/// authorizers call for.
pub fn structured(input: &Input) {
    let Some(b) = build(input) else {
        return;
    };
    app::take_ran();
    let payload = match crate::dispatch(crate::http_app(), &b.event) {
        Ok(p) => p,
        Err(e) => panic!(
            "a well-formed {:?} event was refused: {e}\n{}",
            b.kind,
            String::from_utf8_lossy(&b.event)
        ),
    };
    let ran = app::take_ran();
    let res = check::response(Some(b.kind), &payload);
    let ctx = || {
        format!(
            "\n{:?} {} {} (view {:?}, template {:?}, target {:?})\nevent: {}\nresponse: {}",
            b.kind,
            b.method,
            b.route.map_or("-", |r| r.canonical),
            b.view_path,
            b.template,
            b.route.map(|r| r.handler),
            String::from_utf8_lossy(&b.event),
            String::from_utf8_lossy(&payload)
        )
    };
    let status = res.status().as_u16();
    let hit = expect_hit(&b);
    let origin = b.header("origin").map(str::to_owned);
    let acrm = b.header("access-control-request-method").map(str::to_owned);

    // HEAD answers carry no body.
    if b.method == http::Method::HEAD {
        assert!(res.bytes().is_empty(), "a body in a HEAD answer{}", ctx());
    }

    // A preflight: OPTIONS with an origin and a method, to a routed path.
    let on_path = match &hit {
        Hit::Route(r, _, _) | Hit::NotAllowed(r, _) => Some(*r),
        Hit::NotFound => None,
    };
    let table = table();
    if let (true, Some(o), Some(m), Some(r)) =
        (b.method == http::Method::OPTIONS, &origin, &acrm, on_path)
    {
        let path: Vec<&'static Route> = table
            .iter()
            .copied()
            .filter(|x| x.apigw_path == r.apigw_path)
            .collect();
        let asked = path
            .iter()
            .find(|x| x.method.as_str() == m.trim())
            .or_else(|| {
                (m.trim() == "HEAD")
                    .then(|| path.iter().find(|x| x.method == lambada::Method::Get))
                    .flatten()
            });
        let policy = match asked {
            Some(x) => policy_of(x),
            None => Some(Policy::Table),
        };
        if let Some(p) = policy {
            assert!(ran.is_empty(), "a handler ran for a preflight{}", ctx());
            let mut methods: Vec<lambada::Method> = path
                .iter()
                .filter(|x| policy_of(x) == Some(p))
                .map(|x| x.method)
                .collect();
            if methods.contains(&lambada::Method::Get) {
                methods.push(lambada::Method::Head);
            }
            methods.sort();
            methods.dedup();
            let allowed_headers = [
                "authorization",
                "content-type",
                "x-amz-date",
                "x-amz-security-token",
                "x-api-key",
                "x-client",
            ];
            let allowed_headers = match p {
                Policy::Table => &allowed_headers[..],
                Policy::Public => &allowed_headers[..5],
            };
            let headers_ok = b
                .header("access-control-request-headers")
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .all(|h| allowed_headers.iter().any(|a| a.eq_ignore_ascii_case(h)));
            let ok = allows(p, o) && methods.iter().any(|x| x.as_str() == m.trim()) && headers_ok;
            assert_eq!(status, if ok { 204 } else { 403 }, "preflight{}", ctx());
            let acao = res.header("access-control-allow-origin");
            if ok {
                let want = match p {
                    Policy::Public => "*",
                    Policy::Table => o.as_str(),
                };
                assert_eq!(acao, Some(want), "{}", ctx());
                let listed: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
                assert_eq!(
                    res.header("access-control-allow-methods"),
                    Some(listed.join(", ").as_str()),
                    "{}",
                    ctx()
                );
            } else {
                assert_eq!(acao, None, "{}", ctx());
            }
            return;
        }
    }

    // Everything else: routing, then the handler.
    match &hit {
        Hit::NotFound => {
            assert!(ran.is_empty(), "{ran:?} ran for an unrouted path{}", ctx());
            assert_eq!(status, 404, "{}", ctx());
        }
        Hit::NotAllowed(_, allowed) => {
            assert!(ran.is_empty(), "{ran:?} ran for a 405{}", ctx());
            assert_eq!(status, 405, "{}", ctx());
            let listed: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
            assert_eq!(
                res.header("allow"),
                Some(listed.join(", ").as_str()),
                "{}",
                ctx()
            );
        }
        Hit::Route(r, params, head) => {
            let e = expect_handler(r, params, &b);
            assert!(
                e.statuses.contains(&status),
                "expected {:?} from {}, got {status}{}",
                e.statuses,
                r.handler,
                ctx()
            );
            // Extractors run before the handler's body, which records it.
            assert!(
                ran.is_empty() || ran == [r.handler],
                "{ran:?} ran for {}{}",
                r.handler,
                ctx()
            );
            if !(400..500).contains(&status) {
                assert_eq!(ran, [r.handler], "the handler that ran{}", ctx());
            }
            if let (Some(want), false, true) = (&e.body, *head, res.status().is_success()) {
                assert_eq!(
                    res.bytes().as_ref(),
                    want.as_slice(),
                    "the body of {}{}",
                    r.handler,
                    ctx()
                );
            }
            if r.handler == "root" && status == 200 && !head {
                let got: Value = res.json();
                let mut got_q: Vec<(String, String)> =
                    serde_json::from_value(got["query"].clone()).unwrap();
                let mut want_q = b.query.clone();
                got_q.sort();
                want_q.sort();
                assert_eq!(got_q, want_q, "the query pairs{}", ctx());
            }
            if r.handler == "set_cookies" && status == 200 && !head {
                check_cookies(&b, &res, ctx);
            }
        }
    }
    let own_status = matches!(&hit, Hit::Route(r, _, _) if r.handler == "status");
    if !res.status().is_success() && !matches!(status, 300..400) && !own_status {
        assert_eq!(
            res.header("content-type"),
            Some("application/problem+json"),
            "an error that is no problem document{}",
            ctx()
        );
    }

    // CORS headers on an actual response: the policy of the path's route
    // (the table's for an unrouted path), for an allowed origin only.
    let policy = match on_path {
        Some(r) => policy_of(r),
        None => Some(Policy::Table),
    };
    let acao = res.header("access-control-allow-origin");
    match (policy, &origin) {
        (Some(p), Some(o)) if allows(p, o) => {
            let want = match p {
                Policy::Public => "*",
                Policy::Table => o.as_str(),
            };
            assert_eq!(acao, Some(want), "{}", ctx());
            if p == Policy::Table {
                assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
                assert_eq!(
                    res.header("access-control-expose-headers"),
                    Some("x-request-id")
                );
            }
        }
        _ => assert_eq!(acao, None, "an Access-Control-Allow-Origin{}", ctx()),
    }
    if policy == Some(Policy::Table) {
        let vary: Vec<&str> = res
            .headers()
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(
            vary.iter().any(|v| v
                .split(',')
                .any(|x| x.trim().eq_ignore_ascii_case("origin"))),
            "no Vary: origin{}",
            ctx()
        );
    }
}

/// `set_cookies` sets `min(n, 8)` cookies: all of them in a payload 2.0
/// `cookies` list or multi-value headers, the last alone in single-value
/// ALB headers.
fn check_cookies(b: &Built, res: &TestResponse, ctx: impl Fn() -> String) {
    let n = b
        .query_first("n")
        .and_then(|n| n.parse::<u8>().ok())
        .unwrap_or(0)
        .min(8);
    let v = b.query_first("v").unwrap_or("1");
    let want: Vec<String> = (0..n)
        .map(|i| format!("c{i}={v}"))
        .filter(|c| http::HeaderValue::from_str(c).is_ok())
        .collect();
    let got: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let want = if b.kind == EventKind::Alb {
        want.last().cloned().into_iter().collect()
    } else {
        want
    };
    assert_eq!(got, want, "the cookies set{}", ctx());
}
