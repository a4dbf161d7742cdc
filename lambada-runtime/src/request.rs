//! The request handed to extractors: one borrowed view over any event shape.

use std::any::Any;
use std::borrow::Cow;

use http::Method as HttpMethod;
use serde_json::value::RawValue;

use crate::state::States;

/// Which kind of event (or server) a request came from; responses are encoded
/// in the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// API Gateway REST API, proxy integration (payload format 1.0).
    RestV1,
    /// API Gateway HTTP API (payload format 2.0).
    HttpV2,
    /// Lambda function URL (payload format 2.0 with no route key).
    FunctionUrl,
    /// Application Load Balancer target group, single-value headers.
    Alb,
    /// Application Load Balancer target group with multi-value headers enabled.
    AlbMultiValue,
    /// The plain HTTP server mode (no Lambda).
    Http,
}

impl EventKind {
    /// A short name, as used by `cargo lambada serve --format`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::RestV1 => "rest",
            EventKind::HttpV2 => "http",
            EventKind::FunctionUrl => "url",
            EventKind::Alb => "alb",
            EventKind::AlbMultiValue => "alb-multi",
            EventKind::Http => "server",
        }
    }
}

/// What the request context of the event says about the caller and the API.
#[derive(Debug, Clone, Default)]
pub struct Context<'e> {
    /// The Lambda invocation's request id (`Lambda-Runtime-Aws-Request-Id`).
    pub lambda_request_id: Cow<'e, str>,
    /// API Gateway's own request id (`requestContext.requestId`).
    pub request_id: Option<Cow<'e, str>>,
    /// The API Gateway stage (`prod`, `$default`).
    pub stage: Option<Cow<'e, str>>,
    /// The caller's IP address.
    pub source_ip: Option<Cow<'e, str>>,
    /// The domain the request was sent to.
    pub domain_name: Option<Cow<'e, str>>,
    /// The API id.
    pub api_id: Option<Cow<'e, str>>,
    /// The authorizer output (Cognito/JWT claims, Lambda authorizer context), raw.
    pub authorizer: Option<&'e RawValue>,
    /// The Lambda function ARN that was invoked.
    pub invoked_function_arn: Cow<'e, str>,
    /// Deadline of this invocation in milliseconds since the epoch (0 outside Lambda).
    pub deadline_ms: u64,
    /// The X-Ray trace header.
    pub trace_id: Option<Cow<'e, str>>,
    /// The event this request came from, as received (empty in HTTP server mode).
    pub raw_event: &'e [u8],
    /// The shape of that event.
    pub kind: Option<EventKind>,
}

impl Context<'_> {
    /// Deserializes the authorizer output: JWT claims sit under `jwt.claims`
    /// for HTTP APIs and under `claims` for Cognito authorizers on REST APIs.
    pub fn authorizer_as<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(self.authorizer?.get()).ok()
    }

    /// A JWT or Cognito claim by name, as a string, wherever the event put it.
    pub fn claim(&self, name: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(self.authorizer?.get()).ok()?;
        let claims = v
            .pointer("/jwt/claims")
            .or_else(|| v.get("claims"))
            .or_else(|| v.get("lambda"))
            .unwrap_or(&v);
        match claims.get(name)? {
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// A request as the extractors see it: a borrowed view of the event
/// (or of the HTTP request in server mode). Nothing in it is copied out of
/// the event unless the JSON escaped it.
#[derive(Debug)]
pub struct Request<'e> {
    pub(crate) method: HttpMethod,
    pub(crate) path: Cow<'e, str>,
    pub(crate) params: Vec<(Cow<'e, str>, Cow<'e, str>)>,
    pub(crate) query: Vec<(Cow<'e, str>, Cow<'e, str>)>,
    pub(crate) headers: Vec<(Cow<'e, str>, Cow<'e, str>)>,
    pub(crate) body: Cow<'e, [u8]>,
    pub(crate) context: Context<'e>,
    /// The route this request matched, a [`Route`](crate::Route): the
    /// route layer sits above this one, and reads it back with
    /// `Request::route` (defined there).
    pub(crate) route: Option<&'static (dyn Any + Send + Sync)>,
    pub(crate) states: &'e States,
}

impl<'e> Request<'e> {
    /// The HTTP method.
    pub fn method(&self) -> &HttpMethod {
        &self.method
    }
    /// The path as requested, without the stage prefix.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// A path parameter by name, percent-decoded.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| &**v)
    }
    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query_all(name).next()
    }
    /// Every value of a query parameter, in order.
    pub fn query_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.query
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| &**v)
    }
    /// All query pairs, decoded, in order.
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(k, v)| (&**k, &**v))
    }
    /// The first value of a header (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).next()
    }
    /// Every value of a header.
    pub fn header_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }
    /// All headers as received.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(k, v)| (&**k, &**v))
    }
    /// A cookie's value by name, from every `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
    /// Every cookie sent with the request.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.header_all("cookie")
            .flat_map(|h| h.split(';'))
            .filter_map(|c| {
                let c = c.trim();
                if c.is_empty() {
                    return None;
                }
                // A cookie without `=` is a name with an empty value.
                let (k, v) = c.split_once('=').unwrap_or((c, ""));
                Some((k.trim(), v.trim().trim_matches('"')))
            })
    }
    /// The body bytes (base64-decoded when the event said so).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
    /// The request context.
    pub fn context(&self) -> &Context<'e> {
        &self.context
    }
    /// The `Content-Type` header's media type, lowercased parameters stripped.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
            .map(|c| c.split(';').next().unwrap_or("").trim())
    }
    pub(crate) fn states(&self) -> &States {
        self.states
    }
}
