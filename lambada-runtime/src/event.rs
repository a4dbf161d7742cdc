//! Decoding HTTP events (API Gateway REST v1, HTTP API v2, function URLs,
//! ALB) into a [`Request`] in one borrowed pass, and encoding responses in
//! the shape the event came in.
//!
//! The decoder reads all four shapes with one struct of optional, borrowed
//! fields, so an event is parsed once and strings without escapes are never
//! copied. The shapes themselves are those of `aws_lambda_events` (which the
//! test client uses to build events, so the two are checked against each
//! other in the tests).

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use http::header::{HeaderMap, SET_COOKIE};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::request::{Context, EventKind};
use crate::response::Response;

/// A string borrowed from the event when it has no escapes.
#[derive(Deserialize, Debug, Default)]
#[serde(transparent)]
pub(crate) struct Str<'a>(#[serde(borrow)] pub Cow<'a, str>);

pub(crate) type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// `{"k": "v", "k2": null}` into pairs (nulls skipped, `null` map → empty).
fn pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pairs<'de>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Pairs<'de>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of strings")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(m.size_hint().unwrap_or(8));
            while let Some(k) = m.next_key::<Str<'de>>()? {
                if let Some(v) = m.next_value::<Option<Str<'de>>>()? {
                    out.push((k.0, v.0));
                }
            }
            Ok(Some(out))
        }
    }
    d.deserialize_option(V)
}

/// `{"k": ["v1", "v2"], "k2": null}` into flattened pairs.
fn multi_pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pairs<'de>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Pairs<'de>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of string lists")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(m.size_hint().unwrap_or(8));
            while let Some(k) = m.next_key::<Str<'de>>()? {
                let vs = m.next_value::<Option<Vec<Str<'de>>>>()?.unwrap_or_default();
                for v in vs {
                    out.push((k.0.clone(), v.0));
                }
            }
            Ok(Some(out))
        }
    }
    d.deserialize_option(V)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct HttpDescription<'a> {
    #[serde(borrow)]
    method: Option<Str<'a>>,
    #[serde(borrow)]
    source_ip: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(borrow)]
    source_ip: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EventContext<'a> {
    #[serde(borrow)]
    request_id: Option<Str<'a>>,
    #[serde(borrow)]
    stage: Option<Str<'a>>,
    #[serde(borrow)]
    domain_name: Option<Str<'a>>,
    #[serde(borrow, rename = "apiId")]
    api_id: Option<Str<'a>>,
    #[serde(borrow)]
    http: Option<HttpDescription<'a>>,
    #[serde(borrow)]
    identity: Option<Identity<'a>>,
    elb: Option<IgnoredAny>,
    #[serde(borrow)]
    authorizer: Option<&'a RawValue>,
}

/// Every field any of the HTTP event shapes has, borrowed.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HttpEvent<'a> {
    #[serde(borrow)]
    version: Option<Str<'a>>,
    #[serde(borrow)]
    resource: Option<Str<'a>>,
    #[serde(borrow)]
    path: Option<Str<'a>>,
    #[serde(borrow)]
    http_method: Option<Str<'a>>,
    #[serde(borrow)]
    route_key: Option<Str<'a>>,
    #[serde(borrow)]
    raw_path: Option<Str<'a>>,
    #[serde(borrow)]
    raw_query_string: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "pairs")]
    headers: Option<Pairs<'a>>,
    #[serde(borrow, default, deserialize_with = "multi_pairs")]
    multi_value_headers: Option<Pairs<'a>>,
    #[serde(borrow, default, deserialize_with = "pairs")]
    query_string_parameters: Option<Pairs<'a>>,
    #[serde(borrow, default, deserialize_with = "multi_pairs")]
    multi_value_query_string_parameters: Option<Pairs<'a>>,
    #[serde(borrow, default, deserialize_with = "pairs")]
    path_parameters: Option<Pairs<'a>>,
    #[serde(borrow)]
    cookies: Option<Vec<Str<'a>>>,
    #[serde(borrow)]
    body: Option<Str<'a>>,
    #[serde(default)]
    is_base64_encoded: Option<bool>,
    #[serde(borrow)]
    request_context: Option<EventContext<'a>>,
}

/// Why an event could not be decoded into a request. These are Lambda-level
/// errors (the event is not an HTTP event at all), unlike a malformed body,
/// which is the client's fault and answered with 400.
#[derive(Debug)]
pub enum EventError {
    /// The payload is not JSON.
    Json(serde_json::Error),
    /// JSON, but none of the HTTP event shapes.
    UnknownShape,
    /// The payload is not UTF-8 (so not JSON).
    NotUtf8,
    /// A trigger handler failed (or its event did not decode).
    Handler(crate::trigger::TriggerError),
}

impl EventError {
    /// The `errorType` reported to Lambda.
    pub fn error_type(&self) -> &str {
        match self {
            EventError::Json(_) | EventError::NotUtf8 => "Lambada.InvalidEventJson",
            EventError::UnknownShape => "Lambada.UnknownEventShape",
            EventError::Handler(e) => &e.error_type,
        }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const EXPECTED: &str = "expected an API Gateway REST API proxy event (payload 1.0: `httpMethod`, `resource`, `requestContext`), an HTTP API or function URL event (payload 2.0: `version: \"2.0\"`, `requestContext.http`) or an Application Load Balancer event (`requestContext.elb`)";
        match self {
            EventError::Json(e) => write!(f, "the event is not valid JSON ({e}); {EXPECTED}"),
            EventError::UnknownShape => write!(f, "unrecognised event shape: {EXPECTED}"),
            EventError::NotUtf8 => write!(f, "the event is not UTF-8, so not JSON; {EXPECTED}"),
            EventError::Handler(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EventError {}

/// The parts of an event the dispatcher needs, before routing.
#[derive(Debug)]
pub(crate) struct Decoded<'e> {
    pub kind: EventKind,
    pub method: http::Method,
    /// The path to match when there is no usable route template.
    pub path: Cow<'e, str>,
    /// The API Gateway resource template (`/users/{id}`), when the event has one.
    pub template: Option<Cow<'e, str>>,
    pub params: Pairs<'e>,
    /// Whether `params` came percent-encoded (REST v1 path parameters do).
    pub params_encoded: bool,
    pub query: Pairs<'e>,
    pub headers: Pairs<'e>,
    pub body: Cow<'e, [u8]>,
    pub context: Context<'e>,
}

fn str_opt(s: Option<Str<'_>>) -> Option<Cow<'_, str>> {
    s.map(|s| s.0)
}

fn decode_query(raw: &str) -> Pairs<'_> {
    form_urlencoded::parse(raw.as_bytes()).collect()
}

fn plus(c: Cow<'_, str>) -> Cow<'_, str> {
    if c.contains('+') {
        Cow::Owned(c.replace('+', " "))
    } else {
        c
    }
}

fn decode_component(s: Cow<'_, str>) -> Cow<'_, str> {
    match s {
        Cow::Borrowed(b) => percent_encoding::percent_decode_str(b).decode_utf8_lossy(),
        Cow::Owned(o) => Cow::Owned(
            percent_encoding::percent_decode_str(&o)
                .decode_utf8_lossy()
                .into_owned(),
        ),
    }
}

/// Decodes any supported HTTP event.
pub(crate) fn decode(event: &[u8]) -> Result<Decoded<'_>, EventError> {
    // One UTF-8 check of the whole payload is cheaper than one per string.
    let text = std::str::from_utf8(event).map_err(|_| EventError::NotUtf8)?;
    let ev: HttpEvent<'_> = serde_json::from_str(text).map_err(EventError::Json)?;
    let ctx = ev.request_context.unwrap_or_default();
    let is_v2 = ev.version.as_ref().is_some_and(|v| v.0 == "2.0");
    let kind = if ctx.elb.is_some() {
        if ev.multi_value_headers.is_some() {
            EventKind::AlbMultiValue
        } else {
            EventKind::Alb
        }
    } else if is_v2 && ctx.http.is_some() {
        let is_url = ctx
            .domain_name
            .as_ref()
            .is_some_and(|d| d.0.contains(".lambda-url."));
        if is_url {
            EventKind::FunctionUrl
        } else {
            EventKind::HttpV2
        }
    } else if ev.http_method.is_some() && ev.resource.is_some() {
        EventKind::RestV1
    } else {
        return Err(EventError::UnknownShape);
    };

    let method_str = match kind {
        EventKind::HttpV2 | EventKind::FunctionUrl => ctx
            .http
            .as_ref()
            .and_then(|h| h.method.as_ref())
            .map(|m| &*m.0),
        _ => ev.http_method.as_ref().map(|m| &*m.0),
    };
    let method = method_str
        .and_then(|m| http::Method::from_bytes(m.as_bytes()).ok())
        .ok_or(EventError::UnknownShape)?;

    let stage = str_opt(ctx.stage);
    let (path, template, params_encoded) = match kind {
        EventKind::RestV1 => {
            let path = str_opt(ev.path).unwrap_or(Cow::Borrowed("/"));
            (path, str_opt(ev.resource), true)
        }
        EventKind::HttpV2 | EventKind::FunctionUrl => {
            let raw = str_opt(ev.raw_path).unwrap_or(Cow::Borrowed("/"));
            // HTTP API puts a named stage in front of rawPath: strip it.
            let path = match stage.as_deref() {
                Some(s) if s != "$default" => {
                    match raw.strip_prefix('/').and_then(|r| r.strip_prefix(s)) {
                        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                            let rest = if rest.is_empty() { "/" } else { rest };
                            Cow::Owned(rest.to_owned())
                        }
                        _ => raw,
                    }
                }
                _ => raw,
            };
            let template = str_opt(ev.route_key).and_then(|rk| match rk {
                Cow::Borrowed(b) => b.split_once(' ').map(|(_, t)| Cow::Borrowed(t)),
                Cow::Owned(o) => o.split_once(' ').map(|(_, t)| Cow::Owned(t.to_owned())),
            });
            (path, template, false)
        }
        _ => (str_opt(ev.path).unwrap_or(Cow::Borrowed("/")), None, false),
    };

    let query = match kind {
        EventKind::HttpV2 | EventKind::FunctionUrl => match ev.raw_query_string {
            Some(Str(Cow::Borrowed(raw))) => decode_query(raw),
            Some(Str(Cow::Owned(raw))) => decode_query(&raw)
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
            None => ev.query_string_parameters.unwrap_or_default(),
        },
        EventKind::Alb | EventKind::AlbMultiValue => {
            // ALB passes the query string through as sent: still percent-encoded.
            let q = ev
                .multi_value_query_string_parameters
                .or(ev.query_string_parameters)
                .unwrap_or_default();
            q.into_iter()
                .map(|(k, v)| (decode_component(plus(k)), decode_component(plus(v))))
                .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                .collect()
        }
        _ => ev
            .multi_value_query_string_parameters
            .filter(|m| !m.is_empty())
            .or(ev.query_string_parameters)
            .unwrap_or_default(),
    };

    let mut headers = match kind {
        EventKind::RestV1 | EventKind::AlbMultiValue => ev
            .multi_value_headers
            .filter(|m| !m.is_empty())
            .or(ev.headers)
            .unwrap_or_default(),
        _ => ev.headers.unwrap_or_default(),
    };
    if let Some(cookies) = ev.cookies.filter(|c| !c.is_empty()) {
        let joined = cookies.iter().map(|c| &*c.0).collect::<Vec<_>>().join("; ");
        headers.push((Cow::Borrowed("cookie"), Cow::Owned(joined)));
    }

    let body: Cow<'_, [u8]> = match (ev.body, ev.is_base64_encoded.unwrap_or(false)) {
        (None, _) => Cow::Borrowed(&[]),
        (Some(b), true) => Cow::Owned(
            base64::engine::general_purpose::STANDARD
                .decode(b.0.as_bytes())
                .unwrap_or_else(|_| b.0.as_bytes().to_vec()),
        ),
        (Some(Str(Cow::Borrowed(b))), false) => Cow::Borrowed(b.as_bytes()),
        (Some(Str(Cow::Owned(b))), false) => Cow::Owned(b.into_bytes()),
    };

    let source_ip = ctx
        .http
        .and_then(|h| h.source_ip)
        .or_else(|| ctx.identity.and_then(|i| i.source_ip))
        .map(|s| s.0);
    let context = Context {
        request_id: str_opt(ctx.request_id),
        stage,
        source_ip,
        domain_name: str_opt(ctx.domain_name),
        api_id: str_opt(ctx.api_id),
        authorizer: ctx.authorizer,
        raw_event: event,
        kind: Some(kind),
        ..Context::default()
    };
    Ok(Decoded {
        kind,
        method,
        path,
        template,
        params: ev.path_parameters.unwrap_or_default(),
        params_encoded,
        query,
        headers,
        body,
        context,
    })
}

/// Whether a content type is text that API Gateway can carry as a string.
pub(crate) fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return true };
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ct.is_empty()
        || ct.starts_with("text/")
        || ct.ends_with("+json")
        || ct.ends_with("+xml")
        || matches!(
            ct.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
                | "image/svg+xml"
        )
}

struct SingleHeaders<'a> {
    headers: &'a HeaderMap,
    skip_cookies: bool,
}

impl Serialize for SingleHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.headers.keys_len()))?;
        for key in self.headers.keys() {
            if key == SET_COOKIE {
                if self.skip_cookies {
                    continue;
                }
                // One header per name in single-value mode, and cookies
                // cannot be comma-joined: keep the last, as ALB would.
                let all: Vec<_> = self.headers.get_all(key).iter().map(value_text).collect();
                if all.len() > 1 {
                    tracing::warn!(
                        cookies = all.len(),
                        "several Set-Cookie headers in an ALB response without multi-value headers: only the last is sent; enable multi-value headers on the target group"
                    );
                }
                if let Some(last) = all.last() {
                    m.serialize_entry(key.as_str(), &**last)?;
                }
                continue;
            }
            let mut values = self.headers.get_all(key).iter().map(value_text);
            let first = values.next().unwrap_or_default();
            match values.next() {
                None => m.serialize_entry(key.as_str(), &*first)?,
                Some(second) => {
                    let mut joined = format!("{first}, {second}");
                    for v in values {
                        joined.push_str(", ");
                        joined.push_str(&v);
                    }
                    m.serialize_entry(key.as_str(), &joined)?
                }
            }
        }
        m.end()
    }
}

/// A header value as JSON text: its bytes as UTF-8 (RFC 9110 allows any
/// byte from 0x80 up in a field value, `obs-text`), not an empty string
/// because it is not ASCII.
fn value_text(v: &http::HeaderValue) -> Cow<'_, str> {
    String::from_utf8_lossy(v.as_bytes())
}

struct MultiHeaders<'a>(&'a HeaderMap);

struct Values<'a>(http::header::GetAll<'a, http::HeaderValue>);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for v in self.0.iter() {
            seq.serialize_element(&*value_text(v))?;
        }
        seq.end()
    }
}

impl Serialize for MultiHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.keys_len()))?;
        for key in self.0.keys() {
            m.serialize_entry(key.as_str(), &Values(self.0.get_all(key)))?;
        }
        m.end()
    }
}

struct Cookies<'a>(&'a HeaderMap);

impl Serialize for Cookies<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Values(self.0.get_all(SET_COOKIE)).serialize(s)
    }
}

/// Encodes `res` as the response payload for an event of `kind`.
pub(crate) fn encode(kind: EventKind, res: &Response) -> Vec<u8> {
    let headers = res.headers();
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let raw = res.body();
    let text = if is_text(content_type) {
        std::str::from_utf8(raw).ok()
    } else {
        None
    };
    let b64;
    let (body, is_b64) = match text {
        Some(t) => (t, false),
        None => {
            b64 = base64::engine::general_purpose::STANDARD.encode(raw);
            (b64.as_str(), true)
        }
    };
    let mut out = Vec::with_capacity(128 + raw.len() + 48 * headers.len());
    let mut ser = serde_json::Serializer::new(&mut out);
    let status = res.status();
    let result = (|| -> Result<(), serde_json::Error> {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("statusCode", &status.as_u16())?;
        match kind {
            EventKind::RestV1 | EventKind::AlbMultiValue | EventKind::Http => {
                m.serialize_entry("multiValueHeaders", &MultiHeaders(headers))?;
            }
            EventKind::HttpV2 | EventKind::FunctionUrl => {
                m.serialize_entry(
                    "headers",
                    &SingleHeaders {
                        headers,
                        skip_cookies: true,
                    },
                )?;
                if headers.contains_key(SET_COOKIE) {
                    m.serialize_entry("cookies", &Cookies(headers))?;
                }
            }
            EventKind::Alb => {
                m.serialize_entry(
                    "headers",
                    &SingleHeaders {
                        headers,
                        skip_cookies: false,
                    },
                )?;
            }
        }
        if matches!(kind, EventKind::Alb | EventKind::AlbMultiValue) {
            let desc = format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            m.serialize_entry("statusDescription", desc.trim_end())?;
        }
        m.serialize_entry("body", body)?;
        m.serialize_entry("isBase64Encoded", &is_b64)?;
        SerializeMap::end(m)
    })();
    debug_assert!(result.is_ok(), "serializing to a Vec cannot fail");
    out
}

/// The prelude of a streamed answer to an event of `kind`: the status and
/// headers as JSON (a function URL's with `cookies`, a REST API's with
/// `multiValueHeaders`), then the eight NUL bytes that end it, as
/// `application/vnd.awslambda.http-integration-response` has it.
pub(crate) fn prelude(kind: EventKind, res: &Response) -> Vec<u8> {
    let headers = res.headers();
    let mut out = Vec::with_capacity(64 + 48 * headers.len());
    let mut ser = serde_json::Serializer::new(&mut out);
    let result = (|| -> Result<(), serde_json::Error> {
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("statusCode", &res.status().as_u16())?;
        if kind == EventKind::RestV1 {
            m.serialize_entry("multiValueHeaders", &MultiHeaders(headers))?;
        } else {
            m.serialize_entry(
                "headers",
                &SingleHeaders {
                    headers,
                    skip_cookies: true,
                },
            )?;
            if headers.contains_key(SET_COOKIE) {
                m.serialize_entry("cookies", &Cookies(headers))?;
            }
        }
        SerializeMap::end(m)
    })();
    debug_assert!(result.is_ok(), "serializing to a Vec cannot fail");
    out.extend_from_slice(&[0; 8]);
    out
}
