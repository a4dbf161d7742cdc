//! The API Gateway (or ALB, or function URL) in front of the function: finds
//! the route of a request as API Gateway does, builds the event with
//! [`lambada::test::HttpEvent`] (the test client's builder), and turns the
//! function's answer back into an HTTP response with
//! [`lambada::test::TestResponse`] (the test client's decoder).

use std::net::IpAddr;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use lambada::EventKind;
use lambada::test::{HttpEvent, TestResponse};

use crate::emulator::{Fault, Reply, ids};
use crate::manifest::RouteEntry;

/// The event format, as `--format` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// API Gateway REST API, proxy integration (payload 1.0).
    Rest,
    /// API Gateway HTTP API (payload 2.0).
    Http,
    /// Lambda function URL (payload 2.0).
    Url,
    /// Application Load Balancer.
    Alb,
    /// Application Load Balancer with multi-value headers.
    AlbMulti,
}

impl Format {
    /// The events the front door `api` sends (REST events when there is
    /// none: the one every app answers).
    pub fn for_api(api: crate::config::ApiKind) -> Format {
        use crate::config::ApiKind;
        match api {
            ApiKind::Rest | ApiKind::None => Format::Rest,
            ApiKind::Http => Format::Http,
            ApiKind::Url => Format::Url,
        }
    }

    /// The event kind this format sends.
    pub fn kind(self) -> EventKind {
        match self {
            Format::Rest => EventKind::RestV1,
            Format::Http => EventKind::HttpV2,
            Format::Url => EventKind::FunctionUrl,
            Format::Alb => EventKind::Alb,
            Format::AlbMulti => EventKind::AlbMultiValue,
        }
    }

    /// What to call it in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Rest => "API Gateway REST API events (payload 1.0)",
            Format::Http => "API Gateway HTTP API events (payload 2.0)",
            Format::Url => "function URL events (payload 2.0)",
            Format::Alb => "Application Load Balancer events",
            Format::AlbMulti => "Application Load Balancer events with multi-value headers",
        }
    }
}

/// The routes of the app, matched as API Gateway matches its resources.
#[derive(Debug)]
pub struct Router {
    router: matchit::Router<usize>,
    /// Routes sharing one resource path: (method, resource path).
    groups: Vec<Vec<(String, String)>>,
    /// The authorizer and scopes of each protected (method, resource path).
    protected: std::collections::HashMap<(String, String), (String, Vec<String>)>,
}

impl Router {
    /// Builds the matcher from the binary's route table. Routes whose path
    /// does not parse are left to the function (as `/{proxy+}` would).
    pub fn new(routes: &[RouteEntry]) -> Router {
        let mut router = matchit::Router::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut groups: Vec<Vec<(String, String)>> = Vec::new();
        let mut protected = std::collections::HashMap::new();
        for r in routes.iter().filter(|r| r.kind == "http") {
            let Ok(parsed) = lambada_path::parse(&r.apigw_path) else {
                continue;
            };
            let pattern = parsed.matchit();
            let entry = (r.method.to_ascii_uppercase(), r.apigw_path.clone());
            if let Some(a) = &r.auth {
                protected.insert(entry.clone(), (a.clone(), r.scopes.clone()));
            }
            match patterns.iter().position(|p| *p == pattern) {
                Some(i) => groups[i].push(entry),
                None => {
                    if router.insert(pattern.clone(), groups.len()).is_ok() {
                        patterns.push(pattern);
                        groups.push(vec![entry]);
                    }
                }
            }
        }
        Router {
            router,
            groups,
            protected,
        }
    }

    /// The authorizer and scopes of the route `method path` goes to, when
    /// it is protected.
    pub fn protection(&self, method: &Method, path: &str) -> Option<(&str, &[String])> {
        let (template, _) = self.find(method, path)?;
        let m = method.as_str();
        let (name, scopes) = self
            .protected
            .get(&(m.to_owned(), template.clone()))
            .or_else(|| {
                (method == Method::HEAD)
                    .then(|| self.protected.get(&("GET".to_owned(), template)))
                    .flatten()
            })?;
        Some((name.as_str(), scopes.as_slice()))
    }

    /// The resource path and the percent-decoded path parameters of the
    /// route `method path` goes to; `None` when no route has this method
    /// (HEAD falls back to GET), and the request goes to `/{proxy+}`.
    pub fn find(&self, method: &Method, path: &str) -> Option<(String, Vec<(String, String)>)> {
        let hit = self.router.at(path).ok()?;
        let group = self.groups.get(*hit.value)?;
        let by = |m: &str| group.iter().find(|(gm, _)| gm == m);
        let (_, template) = by(method.as_str())
            .or_else(|| (method == Method::HEAD).then(|| by("GET")).flatten())?;
        let params = hit
            .params
            .iter()
            .map(|(k, v)| {
                let v = percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned();
                (k.to_owned(), v)
            })
            .collect();
        Some((template.clone(), params))
    }
}

/// An HTTP request as the gateway received it.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The method.
    pub method: Method,
    /// The path and query, as sent.
    pub uri: String,
    /// The headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
    /// The caller's address.
    pub source_ip: IpAddr,
}

/// The event for `req`, in the format `kind`, with a fresh request context.
pub fn event(kind: EventKind, stage: &str, router: &Router, req: &Incoming) -> Vec<u8> {
    event_with(kind, stage, router, req, None)
}

/// [`event`] with an authorizer's result in the request context.
pub fn event_with(
    kind: EventKind,
    stage: &str,
    router: &Router,
    req: &Incoming,
    authorizer: Option<serde_json::Value>,
) -> Vec<u8> {
    let mut ev = http_event(kind, stage, router, req);
    ev.authorizer = authorizer.filter(|a| !a.is_null());
    ev.to_json()
}

/// The request as API Gateway would describe it, before its authorizer ran.
pub fn http_event(kind: EventKind, stage: &str, router: &Router, req: &Incoming) -> HttpEvent {
    let path = req.uri.split_once('?').map_or(req.uri.as_str(), |(p, _)| p);
    let mut ev = HttpEvent::new(kind, req.method.clone(), req.uri.clone());
    if let Some((template, params)) = router.find(&req.method, path) {
        ev.template = Some(template);
        ev.params = params;
    }
    ev.headers = req.headers.clone();
    ev.body = (!req.body.is_empty()).then(|| req.body.to_vec());
    ev.stage = stage.to_owned();
    ev.source_ip = req.source_ip.to_string();
    ev.user_agent = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    ev.request_id = ids::request_id();
    let now = ids::now_ms();
    ev.time_epoch_ms = now as i64;
    ev.request_time = Some(ids::clf_time(now));
    ev
}

/// Adds the headers API Gateway and ALB add: `X-Forwarded-For`,
/// `-Proto`, `-Port` and `X-Amzn-Trace-Id`.
pub fn add_forwarding_headers(headers: &mut Vec<(String, String)>, source_ip: IpAddr, port: u16) {
    let xff = headers.iter().position(|(k, _)| k == "x-forwarded-for");
    match xff {
        Some(i) => headers[i].1 = format!("{}, {source_ip}", headers[i].1),
        None => headers.push(("x-forwarded-for".into(), source_ip.to_string())),
    }
    headers.retain(|(k, _)| k != "x-forwarded-proto" && k != "x-forwarded-port");
    headers.push(("x-forwarded-proto".into(), "http".into()));
    headers.push(("x-forwarded-port".into(), port.to_string()));
    if !headers.iter().any(|(k, _)| k == "x-amzn-trace-id") {
        let root = ids::trace_id();
        let root = root.split(';').next().unwrap_or_default().to_owned();
        headers.push(("x-amzn-trace-id".into(), root));
    }
}

/// Headers that belong to one hop, not to the response.
const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "upgrade",
];

/// A response the gateway makes itself, with a JSON body in API Gateway's
/// shape (`{"message": …}`) plus what a developer needs to see.
fn gateway_error(
    status: StatusCode,
    message: &str,
    detail: serde_json::Value,
) -> http::Response<Bytes> {
    let mut body = serde_json::json!({ "message": message });
    if let (Some(b), serde_json::Value::Object(d)) = (body.as_object_mut(), detail) {
        b.extend(d);
    }
    let mut res = http::Response::new(Bytes::from(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// Turns the function's answer into the HTTP response the gateway sends,
/// and a note for the request log when something went wrong.
pub fn response(
    kind: EventKind,
    outcome: Result<Reply, Fault>,
) -> (http::Response<Bytes>, Option<String>) {
    let payload = match outcome {
        Ok(Reply::Response(payload)) => payload,
        Ok(Reply::Stream(_)) => {
            let note =
                "the function streamed its answer to a front door that reads it whole".to_owned();
            let detail = serde_json::json!({ "detail": note });
            return (
                gateway_error(StatusCode::BAD_GATEWAY, "Internal server error", detail),
                Some(note),
            );
        }
        Ok(Reply::Error(e)) => {
            let note = format!("function error {}: {}", e.error_type, e.message());
            let detail = serde_json::json!({
                "detail": "the function returned an error",
                "error": e.to_json(),
            });
            return (
                gateway_error(StatusCode::BAD_GATEWAY, "Internal server error", detail),
                Some(note),
            );
        }
        Err(Fault::Timeout { timeout }) => {
            let note = format!("timed out after {} s", timeout.as_secs_f64());
            let detail = format!(
                "Task timed out after {:.2} seconds; the bootstrap was stopped and the next \
                 request starts a new one",
                timeout.as_secs_f64()
            );
            let detail = serde_json::json!({ "detail": detail });
            return (
                gateway_error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "Endpoint request timed out",
                    detail,
                ),
                Some(note),
            );
        }
        Err(fault) => {
            let mut detail = serde_json::json!({ "detail": fault.to_string() });
            if let Fault::Init { error: Some(e), .. } = &fault {
                detail["error"] = e.to_json();
            }
            if !fault.output().is_empty() {
                detail["output"] = fault.output().into();
            }
            return (
                gateway_error(StatusCode::BAD_GATEWAY, "Internal server error", detail),
                Some(fault.to_string()),
            );
        }
    };
    // Payload format 2.0 infers a 200 JSON response when there is no statusCode.
    if matches!(kind, EventKind::HttpV2 | EventKind::FunctionUrl) {
        let json: Option<serde_json::Value> = serde_json::from_slice(&payload).ok();
        if json.is_some_and(|v| v.get("statusCode").is_none()) {
            let mut res = http::Response::new(payload);
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return (res, None);
        }
    }
    match TestResponse::try_decode(&payload) {
        Ok(decoded) => {
            let mut res = http::Response::new(decoded.bytes().clone());
            *res.status_mut() = decoded.status();
            for (name, value) in decoded.headers() {
                if !HOP_BY_HOP.contains(&name.as_str()) {
                    res.headers_mut().append(name.clone(), value.clone());
                }
            }
            (res, None)
        }
        Err(e) => {
            let note = format!("malformed Lambda proxy response: {e}");
            let detail = serde_json::json!({ "detail": note });
            (
                gateway_error(StatusCode::BAD_GATEWAY, "Internal server error", detail),
                Some(note),
            )
        }
    }
}

/// The gateway's answer to a body over Lambda's 6 MB request payload limit.
pub fn too_large() -> http::Response<Bytes> {
    gateway_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request Entity Too Large",
        serde_json::json!({}),
    )
}

/// The request headers as (name, value) pairs; a value that is not visible
/// ASCII is dropped (events carry headers as JSON strings).
pub fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v): (&HeaderName, &HeaderValue)| {
            Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned()))
        })
        .collect()
}

/// The head of a streamed answer, once its prelude is in: the response to
/// send (status and headers from the prelude), the body bytes that came
/// with the prelude, and the rest of the stream. A stream without the
/// HTTP-integration content type is its body as is, with status 200 (as a
/// function URL passes it on).
pub async fn streamed(
    mut s: crate::emulator::Streamed,
) -> Result<(http::Response<()>, Bytes, crate::emulator::Streamed), String> {
    use crate::emulator::Streamed;
    if s.content_type.as_deref() != Some(Streamed::HTTP_INTEGRATION) {
        let mut res = http::Response::new(());
        if let Some(ct) = s
            .content_type
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            res.headers_mut().insert(http::header::CONTENT_TYPE, ct);
        }
        return Ok((res, Bytes::new(), s));
    }
    let mut pending = Vec::new();
    let end = loop {
        if let Some(end) = pending.windows(8).position(|w: &[u8]| w == [0; 8]) {
            break end;
        }
        match s.body.recv().await {
            Some(Ok(b)) => pending.extend_from_slice(&b),
            Some(Err(e)) => {
                return Err(format!(
                    "the streamed answer failed before its prelude ended: {}: {}",
                    e.error_type,
                    e.message()
                ));
            }
            None => {
                return Err(
                    "the streamed answer ended before its prelude did (no eight NUL bytes)".into(),
                );
            }
        }
    };
    let mut wire = pending[..end].to_vec();
    wire.extend_from_slice(&[0; 8]);
    let decoded = match TestResponse::try_decode_streamed(&wire) {
        Ok(d) => d,
        Err(e) => return Err(format!("malformed streamed response prelude: {e}")),
    };
    let mut res = http::Response::new(());
    *res.status_mut() = decoded.status();
    for (name, value) in decoded.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            res.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok((res, Bytes::copy_from_slice(&pending[end + 8..]), s))
}

/// The gateway's 502 for a function answer it cannot pass on (`note` says
/// why).
pub fn bad_gateway(note: &str) -> http::Response<Bytes> {
    let detail = serde_json::json!({ "detail": note });
    gateway_error(StatusCode::BAD_GATEWAY, "Internal server error", detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, apigw_path: &str) -> RouteEntry {
        RouteEntry {
            kind: "http".into(),
            method: method.into(),
            path: apigw_path.into(),
            apigw_path: apigw_path.into(),
            handler: "h".into(),
            request_content_type: None,
            response_content_type: None,
            auth: None,
            scopes: Vec::new(),
            streams: false,
        }
    }

    #[test]
    fn protection_follows_the_route_and_head_follows_get() {
        let mut me = route("GET", "/me");
        me.auth = Some("users".into());
        me.scopes = vec!["profile".into()];
        let r = Router::new(&[me, route("POST", "/me"), route("GET", "/open")]);
        let (name, scopes) = r.protection(&Method::GET, "/me").unwrap();
        assert_eq!((name, scopes), ("users", &["profile".to_owned()][..]));
        assert!(r.protection(&Method::HEAD, "/me").is_some());
        assert!(r.protection(&Method::POST, "/me").is_none());
        assert!(r.protection(&Method::GET, "/open").is_none());
        assert!(
            r.protection(&Method::OPTIONS, "/me").is_none(),
            "preflights go through"
        );
    }

    fn router() -> Router {
        Router::new(&[
            route("GET", "/helloworld/{id}"),
            route("GET", "/items/{sku}"),
            route("DELETE", "/items/{sku}"),
            route("POST", "/items"),
            route("GET", "/files/{rest+}"),
            route("GET", "/"),
        ])
    }

    #[test]
    fn routes_like_api_gateway() {
        let r = router();
        assert_eq!(
            r.find(&Method::GET, "/helloworld/5"),
            Some(("/helloworld/{id}".into(), vec![("id".into(), "5".into())]))
        );
        assert_eq!(
            r.find(&Method::GET, "/items/a%2Fb%20c"),
            Some(("/items/{sku}".into(), vec![("sku".into(), "a/b c".into())]))
        );
        assert_eq!(
            r.find(&Method::DELETE, "/items/x").map(|f| f.0),
            Some("/items/{sku}".into())
        );
        assert_eq!(
            r.find(&Method::HEAD, "/helloworld/5").map(|f| f.0),
            Some("/helloworld/{id}".into())
        );
        assert_eq!(
            r.find(&Method::GET, "/files/a/b/c"),
            Some((
                "/files/{rest+}".into(),
                vec![("rest".into(), "a/b/c".into())]
            ))
        );
        assert_eq!(r.find(&Method::GET, "/").map(|f| f.0), Some("/".into()));
        assert_eq!(r.find(&Method::PUT, "/items"), None);
        assert_eq!(r.find(&Method::GET, "/nope"), None);
        assert_eq!(r.find(&Method::GET, "/helloworld/5/"), None);
    }

    fn incoming(method: Method, uri: &str) -> Incoming {
        Incoming {
            method,
            uri: uri.into(),
            headers: vec![("user-agent".into(), "curl/8".into())],
            body: Bytes::new(),
            source_ip: "192.0.2.1".parse().unwrap(),
        }
    }

    #[test]
    fn events_carry_the_route_and_a_fresh_context() {
        let r = router();
        let ev: serde_json::Value = serde_json::from_slice(&event(
            EventKind::RestV1,
            "dev",
            &r,
            &incoming(Method::GET, "/helloworld/5?x=1"),
        ))
        .unwrap();
        assert_eq!(ev["resource"], "/helloworld/{id}");
        assert_eq!(ev["path"], "/helloworld/5");
        assert_eq!(ev["pathParameters"]["id"], "5");
        assert_eq!(ev["queryStringParameters"]["x"], "1");
        assert_eq!(ev["requestContext"]["stage"], "dev");
        assert_eq!(ev["requestContext"]["identity"]["sourceIp"], "192.0.2.1");
        assert_eq!(ev["requestContext"]["identity"]["userAgent"], "curl/8");
        assert!(
            ev["requestContext"]["requestTime"]
                .as_str()
                .unwrap()
                .ends_with(" +0000")
        );
        assert_ne!(
            ev["requestContext"]["requestId"],
            "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
        );
        assert!(ev["body"].is_null());

        let ev: serde_json::Value = serde_json::from_slice(&event(
            EventKind::RestV1,
            "dev",
            &r,
            &incoming(Method::PATCH, "/nope"),
        ))
        .unwrap();
        assert_eq!(ev["resource"], "/{proxy+}");
        assert_eq!(ev["pathParameters"]["proxy"], "nope");

        let ev: serde_json::Value = serde_json::from_slice(&event(
            EventKind::HttpV2,
            "dev",
            &r,
            &incoming(Method::GET, "/items/x"),
        ))
        .unwrap();
        assert_eq!(ev["routeKey"], "GET /items/{sku}");
        assert_eq!(ev["requestContext"]["http"]["sourceIp"], "192.0.2.1");
        assert!(ev["requestContext"]["time"].is_string());
    }

    #[test]
    fn forwarding_headers() {
        let mut h = vec![("x-forwarded-for".to_owned(), "10.0.0.1".to_owned())];
        add_forwarding_headers(&mut h, "192.0.2.1".parse().unwrap(), 3000);
        let get = |k: &str| h.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
        assert_eq!(
            get("x-forwarded-for").as_deref(),
            Some("10.0.0.1, 192.0.2.1")
        );
        assert_eq!(get("x-forwarded-port").as_deref(), Some("3000"));
        assert!(get("x-amzn-trace-id").unwrap().starts_with("Root=1-"));
    }

    #[test]
    fn responses() {
        let ok = |p: &str| Ok(Reply::Response(Bytes::from(p.to_owned())));
        let (res, note) = response(
            EventKind::RestV1,
            ok(
                r#"{"statusCode":201,"multiValueHeaders":{"set-cookie":["a=1","b=2"],"content-length":["99"]},"body":"aGk=","isBase64Encoded":true}"#,
            ),
        );
        assert_eq!(res.status(), 201);
        assert_eq!(res.headers().get_all("set-cookie").iter().count(), 2);
        assert!(res.headers().get("content-length").is_none());
        assert_eq!(res.body().as_ref(), b"hi");
        assert!(note.is_none());

        let (res, _) = response(
            EventKind::HttpV2,
            ok(r#"{"statusCode":200,"cookies":["a=1","b=2"],"body":"x"}"#),
        );
        assert_eq!(res.headers().get_all("set-cookie").iter().count(), 2);

        let (res, _) = response(EventKind::HttpV2, ok(r#"{"hello":"world"}"#));
        assert_eq!(
            (res.status(), res.body().as_ref()),
            (StatusCode::OK, &br#"{"hello":"world"}"#[..])
        );

        let (res, note) = response(EventKind::RestV1, ok(r#"{"hello":"world"}"#));
        assert_eq!(res.status(), 502);
        assert!(note.unwrap().contains("statusCode"));

        let (res, _) = response(EventKind::RestV1, ok("not json"));
        assert_eq!(res.status(), 502);

        let (res, _) = response(
            EventKind::RestV1,
            Err(Fault::Timeout {
                timeout: std::time::Duration::from_secs(3),
            }),
        );
        assert_eq!(res.status(), 504);

        let (res, _) = response(
            EventKind::Alb,
            Err(Fault::Crashed {
                reason: "was killed by signal 6 (SIGABRT)".into(),
                output: vec!["boom".into()],
            }),
        );
        assert_eq!(res.status(), 502);
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(body["message"], "Internal server error");
        assert_eq!(body["output"][0], "boom");
    }
}
