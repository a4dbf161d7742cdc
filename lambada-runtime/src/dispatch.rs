//! From a decoded event to a response: routing, extraction, panics.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use http::StatusCode;
use http::header::{ALLOW, HeaderValue};

use crate::cors::{CorsPolicy, RouteCors};
use crate::event::{self, EventError};
use crate::invocation::Invocation;
use crate::method::Method;
use crate::panic::{CatchUnwind, panic_message};
use crate::request::{Context, EventKind, Request};
use crate::response::{IntoResponse, Problem, Response};
use crate::route::{Route, Routes};
use crate::trigger::{self, Trigger};

/// Path matching for events that carry no route template (ALB, function
/// URLs, `$default` and `{proxy+}` routes, the HTTP server). Built on the
/// first such request, never for API Gateway events that name their route.
struct Matcher {
    router: matchit::Router<usize>,
    /// Routes sharing one path pattern, in table order.
    groups: Vec<Vec<&'static Route>>,
}

impl Matcher {
    fn build(table: &[&'static Route]) -> Matcher {
        let mut router = matchit::Router::new();
        let mut groups: Vec<Vec<&'static Route>> = Vec::new();
        let mut patterns: Vec<&'static str> = Vec::new();
        for r in table {
            match patterns.iter().position(|p| *p == r.matchit_path) {
                Some(i) => groups[i].push(r),
                None => {
                    if let Err(e) = router.insert(r.matchit_path, groups.len()) {
                        // The compile-time checks are stricter than matchit's;
                        // this is unreachable for tables built by `routes!`.
                        tracing::error!(route = r.canonical, error = %e, "route not matchable");
                        continue;
                    }
                    patterns.push(r.matchit_path);
                    groups.push(vec![r]);
                }
            }
        }
        Matcher { router, groups }
    }
}

pub(crate) struct Inner {
    pub routes: Routes,
    matcher: OnceLock<Matcher>,
    /// The trigger handler every event goes to, when this function is one.
    trigger: Option<&'static Trigger>,
    /// The CORS policies, checked; `None` when no route has any.
    cors: Option<CorsTable>,
    /// Whether any route streams: then a function URL is deployed in
    /// `RESPONSE_STREAM` mode, and every answer to its events streams.
    streams: bool,
}

/// What an invocation answers.
pub(crate) enum Answer {
    /// The whole payload: a buffered response in the event's shape, or a
    /// trigger's result.
    Payload(Vec<u8>),
    /// A streamed HTTP response (see [`crate::stream`]).
    Stream(Streamed),
}

/// A streamed answer: the prelude (status, headers and cookies as JSON,
/// then eight NUL bytes), then the body's chunks.
pub(crate) struct Streamed {
    pub prelude: Vec<u8>,
    pub body: crate::stream::BodyStream,
}

/// Which CORS policy answers for which route.
struct CorsTable {
    /// The distinct policies, the table's first when it has one.
    policies: Vec<CorsPolicy>,
    /// The table's: an index into `policies`.
    table: Option<usize>,
    /// Routes with a setting of their own: their policy, or none.
    routes: Vec<(&'static Route, Option<usize>)>,
}

impl CorsTable {
    /// Checks the table's CORS settings; `run` has reported invalid ones
    /// as an init error already (`Routes::check`), so this panics only for
    /// an app built by hand (the test client) from an invalid setting.
    fn new(routes: &Routes) -> Option<CorsTable> {
        let settings = routes.cors_settings()?;
        let ok = |r: Result<Option<CorsPolicy>, String>| r.unwrap_or_else(|e| panic!("{e}"));
        let mut policies = Vec::new();
        let mut seen: Vec<&RouteCors> = Vec::new();
        let table = ok(settings.table_policy()).map(|p| {
            policies.push(p);
            0
        });
        let mut own = Vec::new();
        for r in routes.table {
            let Some(setting) = settings.routes.get(r.handler) else {
                continue;
            };
            let index = match setting {
                RouteCors::Off => None,
                RouteCors::Own(_) => Some(match seen.iter().position(|s| *s == setting) {
                    Some(i) => i + usize::from(table.is_some()),
                    None => {
                        seen.push(setting);
                        policies.push(ok(settings.policy_for(r.handler)).expect("own settings"));
                        policies.len() - 1
                    }
                }),
            };
            own.push((*r, index));
        }
        Some(CorsTable {
            policies,
            table,
            routes: own,
        })
    }

    /// The policy answering for `route`.
    fn index_for(&self, route: &Route) -> Option<usize> {
        match self.routes.iter().find(|(r, _)| std::ptr::eq(*r, route)) {
            Some((_, i)) => *i,
            None => self.table,
        }
    }
}

/// A route table ready to serve: what the Lambda loop, the HTTP server and
/// the test client all dispatch through.
#[derive(Clone)]
pub struct App(pub(crate) Arc<Inner>);

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("routes", &self.0.routes)
            .finish()
    }
}

#[allow(clippy::enum_variant_names)]
pub(crate) enum Found<'e> {
    Route(&'static Route, Vec<(Cow<'e, str>, Cow<'e, str>)>, bool),
    /// The path is routed (here is one of its routes), not for this method.
    MethodNotAllowed(&'static Route, Vec<Method>),
    NotFound,
}

fn pick(
    group: &[&'static Route],
    method: &http::Method,
) -> Result<(&'static Route, bool), (&'static Route, Vec<Method>)> {
    if let Some(r) = group.iter().find(|r| r.method.as_str() == method.as_str()) {
        return Ok((r, false));
    }
    let get = group.iter().find(|r| r.method == Method::Get);
    if let (true, Some(r)) = (method == http::Method::HEAD, get) {
        return Ok((r, true));
    }
    let mut allowed: Vec<Method> = group.iter().map(|r| r.method).collect();
    if allowed.contains(&Method::Get) && !allowed.contains(&Method::Head) {
        allowed.push(Method::Head);
    }
    allowed.sort();
    allowed.dedup();
    Err((group[0], allowed))
}

fn decode_params<'a>(
    params: Vec<(Cow<'a, str>, Cow<'a, str>)>,
) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
    params
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Cow::Borrowed(b) => percent_encoding::percent_decode_str(b).decode_utf8_lossy(),
                Cow::Owned(o) => Cow::Owned(
                    percent_encoding::percent_decode_str(&o)
                        .decode_utf8_lossy()
                        .into_owned(),
                ),
            };
            (k, v)
        })
        .collect()
}

impl App {
    /// Prepares a route table for serving HTTP events.
    pub fn new(routes: Routes) -> App {
        App(Arc::new(Inner {
            cors: CorsTable::new(&routes),
            streams: routes.table.iter().any(|r| (r.streams)()),
            routes,
            matcher: OnceLock::new(),
            trigger: None,
        }))
    }

    /// Prepares a route table for the function whose `Handler` setting is
    /// `handler` (`_HANDLER` in a Lambda environment): a trigger handler's
    /// name sends every event to it; anything else (`bootstrap`, nothing)
    /// means HTTP events. `Err` when the name is no trigger and the table
    /// has no HTTP routes either.
    pub fn for_handler(routes: Routes, handler: Option<&str>) -> Result<App, crate::Error> {
        let trigger = handler.and_then(|h| routes.trigger(h));
        if trigger.is_none()
            && routes.iter().next().is_none()
            && routes.websocket().next().is_none()
            && routes.triggers().next().is_some()
        {
            let names: Vec<&str> = routes.triggers().map(|t| t.handler).collect();
            return Err(format!(
                "the function's handler is `{}`, which is not a trigger handler of this binary (it has: {}), and the binary has no HTTP routes",
                handler.unwrap_or(""),
                names.join(", ")
            )
            .into());
        }
        Ok(App(Arc::new(Inner {
            cors: CorsTable::new(&routes),
            streams: routes.table.iter().any(|r| (r.streams)()),
            routes,
            matcher: OnceLock::new(),
            trigger,
        })))
    }

    /// The trigger handler this app serves, if it is one.
    pub fn trigger(&self) -> Option<&'static Trigger> {
        self.0.trigger
    }

    /// The route table.
    pub fn routes(&self) -> &Routes {
        &self.0.routes
    }

    fn matcher(&self) -> &Matcher {
        self.0
            .matcher
            .get_or_init(|| Matcher::build(self.0.routes.table))
    }

    fn find_by_template<'e>(&self, method: &http::Method, template: &str) -> Option<Found<'e>> {
        let mut group: Vec<&'static Route> = Vec::new();
        for r in self.0.routes.table {
            if r.apigw_path == template {
                if r.method.as_str() == method.as_str() {
                    return Some(Found::Route(r, Vec::new(), false));
                }
                group.push(r);
            }
        }
        if group.is_empty() {
            return None;
        }
        Some(match pick(&group, method) {
            Ok((r, head)) => Found::Route(r, Vec::new(), head),
            Err((r, allowed)) => Found::MethodNotAllowed(r, allowed),
        })
    }

    /// Matches a path. `encoded` says whether the path arrived percent-encoded
    /// (REST, function URLs, ALB, HTTP) or already decoded (HTTP API `rawPath`),
    /// so parameters are decoded exactly once.
    pub(crate) fn find_by_path<'e>(
        &self,
        method: &http::Method,
        path: &'e str,
        encoded: bool,
    ) -> Found<'e> {
        let path = match &self.0.routes.options.base_path {
            Some(base) => match path.strip_prefix(base.as_str()) {
                Some("") => "/",
                Some(rest) if rest.starts_with('/') => rest,
                _ => path,
            },
            None => path,
        };
        let m = self.matcher();
        let Ok(hit) = m.router.at(path) else {
            return Found::NotFound;
        };
        match pick(&m.groups[*hit.value], method) {
            Ok((r, head)) => {
                let params = hit
                    .params
                    .iter()
                    .map(|(k, v)| (Cow::Owned(k.to_owned()), Cow::Borrowed(v)))
                    .collect();
                Found::Route(
                    r,
                    if encoded {
                        decode_params(params)
                    } else {
                        params
                    },
                    head,
                )
            }
            Err((r, allowed)) => Found::MethodNotAllowed(r, allowed),
        }
    }

    /// Handles one invocation: for a trigger function, runs the trigger
    /// handler; otherwise decodes an HTTP event, dispatches it, and encodes
    /// the response in the event's own shape (a streamed body collected
    /// whole: see [`crate::stream`] for where bodies stream). `Err` is a
    /// Lambda function error: a payload that is not an HTTP event at all,
    /// or a failed trigger; every HTTP-level problem is a response.
    pub async fn handle_event(
        &self,
        event: &[u8],
        invocation: &Invocation<'_>,
    ) -> Result<Vec<u8>, EventError> {
        match self.answer(event, invocation, false).await? {
            Answer::Payload(p) => Ok(p),
            Answer::Stream(_) => unreachable!("streaming is off"),
        }
    }

    /// [`handle_event`](App::handle_event), streaming where the front door
    /// does (`streaming`: the caller can send a streamed answer).
    pub(crate) async fn answer(
        &self,
        event: &[u8],
        invocation: &Invocation<'_>,
        streaming: bool,
    ) -> Result<Answer, EventError> {
        if let Some(t) = self.0.trigger {
            return trigger::handle(t, &self.0.routes.states, event, invocation)
                .await
                .map(Answer::Payload)
                .map_err(EventError::Handler);
        }
        let d = match event::decode(event) {
            Ok(d) => d,
            // A WebSocket event has none of the HTTP shapes (no method).
            Err(EventError::UnknownShape) if !self.0.routes.websocket.routes.is_empty() => {
                let r = &self.0.routes;
                let drive = r.websocket.routes[0].driver;
                return drive(&r.websocket, &r.states, event, invocation)
                    .await
                    .map(Answer::Payload);
            }
            Err(e) => return Err(e),
        };
        let kind = d.kind;
        let mut context = d.context;
        context.lambda_request_id = Cow::Borrowed(invocation.request_id);
        context.deadline_ms = invocation.deadline_ms;
        context.invoked_function_arn = Cow::Borrowed(invocation.invoked_function_arn);
        context.trace_id = invocation.trace_id.map(Cow::Borrowed);

        let found = match d
            .template
            .as_deref()
            .and_then(|t| self.find_by_template(&d.method, t))
        {
            Some(Found::Route(r, _, head)) => {
                let params = if d.params_encoded {
                    decode_params(d.params)
                } else {
                    d.params
                };
                Found::Route(r, params, head)
            }
            Some(other) => other,
            None => match self.find_by_path(&d.method, &d.path, kind != EventKind::HttpV2) {
                // Borrowed from `d.path`: copy the few params out.
                Found::Route(r, params, head) => Found::Route(
                    r,
                    params
                        .into_iter()
                        .map(|(k, v)| (Cow::Owned(k.into_owned()), Cow::Owned(v.into_owned())))
                        .collect(),
                    head,
                ),
                Found::MethodNotAllowed(r, allowed) => Found::MethodNotAllowed(r, allowed),
                Found::NotFound => Found::NotFound,
            },
        };
        let parts = Parts {
            method: d.method,
            path: d.path,
            query: d.query,
            headers: d.headers,
            body: d.body,
            context,
        };
        // Function URLs stream every answer when the app streams at all
        // (the URL's invoke mode is the function's); REST APIs the routes
        // whose integrations deploy made streaming.
        let stream = streaming
            && match kind {
                EventKind::FunctionUrl => self.0.streams,
                EventKind::RestV1 => {
                    matches!(&found, Found::Route(r, _, _) if (r.streams)())
                }
                _ => false,
            };
        let mut res = self.respond(found, parts).await;
        let body = crate::stream::Slot::take(&mut res);
        if stream {
            let body = match body {
                Some(b) => b,
                None => crate::stream::once(std::mem::take(res.body_mut())),
            };
            return Ok(Answer::Stream(Streamed {
                prelude: event::prelude(kind, &res),
                body,
            }));
        }
        if let Some(body) = body {
            match crate::stream::collect(body).await {
                Ok(all) => *res.body_mut() = all,
                Err(e) => {
                    tracing::error!(error = %e, "streamed body failed");
                    res = Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
                }
            }
        }
        Ok(Answer::Payload(event::encode(kind, &res)))
    }

    /// Answers a routed request: CORS preflights here, everything else by
    /// routing, with the CORS headers of the route's policy added to
    /// whatever came out (problems and panics included). An answer to HEAD
    /// has no body, whoever made it (a `#[head]` handler, a 404 or 405
    /// problem, an authorizer's refusal): RFC 9110 §9.3.2.
    pub(crate) async fn respond(&self, found: Found<'_>, parts: Parts<'_>) -> Response {
        let head = parts.method == http::Method::HEAD;
        let mut res = self.respond_with_body(found, parts).await;
        if head {
            *res.body_mut() = bytes::Bytes::new();
            crate::stream::Slot::take(&mut res);
        }
        res
    }

    async fn respond_with_body(&self, found: Found<'_>, parts: Parts<'_>) -> Response {
        let Some(cors) = &self.0.cors else {
            return self.route(found, parts).await;
        };
        let origin = header(&parts.headers, "origin").map(str::to_owned);
        let on_path = match &found {
            Found::Route(r, _, _) | Found::MethodNotAllowed(r, _) => Some(*r),
            Found::NotFound => None,
        };
        if let (Some(o), Some(acrm), Some(r)) = (
            origin.as_deref(),
            header(&parts.headers, "access-control-request-method"),
            on_path,
        ) && parts.method == http::Method::OPTIONS
        {
            // The policy of the route the real request will reach; the
            // methods it allows are those of the path's routes under it.
            let path: Vec<&'static Route> = self
                .0
                .routes
                .table
                .iter()
                .copied()
                .filter(|x| x.apigw_path == r.apigw_path)
                .collect();
            let asked = path
                .iter()
                .find(|x| x.method.as_str() == acrm.trim())
                .or_else(|| {
                    (acrm.trim() == "HEAD")
                        .then(|| path.iter().find(|x| x.method == Method::Get))
                        .flatten()
                });
            let policy = match asked {
                Some(x) => cors.index_for(x),
                None => cors.table,
            };
            if let Some(i) = policy {
                let methods: Vec<Method> = path
                    .iter()
                    .filter(|x| cors.index_for(x) == Some(i))
                    .map(|x| x.method)
                    .collect();
                let acrh = header(&parts.headers, "access-control-request-headers");
                return cors.policies[i].preflight(o, acrm, acrh, &methods);
            }
        }
        let policy = match on_path {
            Some(r) => cors.index_for(r),
            None => cors.table,
        };
        let mut res = self.route(found, parts).await;
        if let Some(i) = policy {
            cors.policies[i].decorate(origin.as_deref(), &mut res);
        }
        res
    }

    async fn route(&self, found: Found<'_>, parts: Parts<'_>) -> Response {
        match found {
            Found::NotFound => Problem::new(
                StatusCode::NOT_FOUND,
                format!("no route for {} {}", parts.method, parts.path),
            )
            .into_response(),
            Found::MethodNotAllowed(_, allowed) => {
                let allow = allowed
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                Problem::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!(
                        "{} is not allowed on {}; allowed: {allow}",
                        parts.method, parts.path
                    ),
                )
                .header(
                    ALLOW,
                    HeaderValue::from_str(&allow).unwrap_or(HeaderValue::from_static("")),
                )
                .into_response()
            }
            Found::Route(route, params, _head) => {
                let req = Request {
                    method: parts.method,
                    path: parts.path,
                    params,
                    query: parts.query,
                    headers: parts.headers,
                    body: parts.body,
                    context: parts.context,
                    route: Some(route),
                    states: &self.0.routes.states,
                };
                if let Some(refused) = crate::auth::enforce(&self.0.routes, route, &req.context) {
                    return refused;
                }
                // A HEAD served by the GET route: `respond` drops the body.
                call(route, &req).await
            }
        }
    }
}

/// The first value of a header (names compare case-insensitively).
fn header<'a>(headers: &'a [(Cow<'_, str>, Cow<'_, str>)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| &**v)
}

/// The request pieces that do not depend on routing.
pub(crate) struct Parts<'e> {
    pub method: http::Method,
    pub path: Cow<'e, str>,
    pub query: Vec<(Cow<'e, str>, Cow<'e, str>)>,
    pub headers: Vec<(Cow<'e, str>, Cow<'e, str>)>,
    pub body: Cow<'e, [u8]>,
    pub context: Context<'e>,
}

/// Runs a handler, turning a panic into a 500 (the process lives on).
async fn call(route: &'static Route, req: &Request<'_>) -> Response {
    match (CatchUnwind {
        fut: (route.call)(req),
    })
    .await
    {
        Ok(res) => res,
        Err(panic) => {
            let msg = panic_message(&panic);
            tracing::error!(
                handler = route.handler,
                route = route.canonical,
                panic = %msg,
                request_id = %req.context().lambda_request_id,
                "handler panicked"
            );
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "").into_response()
        }
    }
}
