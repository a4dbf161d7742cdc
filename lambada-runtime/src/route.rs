//! The compile-time route table.

use std::future::Future;
use std::pin::Pin;

pub use lambada_path::Segment;

use crate::cors::{Cors, RouteCors};
pub use crate::method::Method;
use crate::request::Request;
use crate::response::Response;
pub use crate::state::StateKey;
use crate::state::States;
use crate::trigger::Trigger;
use crate::websocket::{WsRoute, WsTable};

/// Where a handler argument comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A path segment (`<id>`).
    Path,
    /// A query parameter.
    Query,
    /// A header.
    Header,
    /// A cookie.
    Cookie,
    /// The body (the last argument).
    Body,
    /// Anything else resolved by type (state, context, whole query, ...).
    Extractor,
}

/// One handler argument, for introspection.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// The argument's name in the handler (or the header/query/cookie name).
    pub name: &'static str,
    /// Where it comes from.
    pub source: Source,
    /// Its Rust type, as written.
    pub ty: &'static str,
    /// Whether the request may omit it (`Option<T>`).
    pub optional: bool,
}

/// Who may call a route: `auth = "…"` on the route attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No `auth` argument: the table's default ([`Routes::auth`]), if any.
    Default,
    /// `auth = "none"`: public, even when the table has a default.
    Public,
    /// `auth = "name"`: the authorizer configured (or defined) as `name`.
    Authorizer(&'static str),
    /// `auth = name`: the `#[authorizer]` function `name`, which the table
    /// must hold too (checked by `routes!`).
    Function(&'static str),
}

/// A route's own CORS setting: `cors = …` on the route attribute.
#[derive(Debug, Clone, Copy)]
pub enum CorsSetting {
    /// No `cors` argument: the table's settings ([`Routes::cors`]), if any.
    Table,
    /// `cors = false`: no CORS for this route, whatever the table's.
    Off,
    /// `cors = settings`: a function returning this route's settings,
    /// called once at cold start.
    Own(fn() -> crate::cors::Cors),
}

impl CorsSetting {
    /// The setting as configuration spells it; `None` for the table's.
    pub fn settings(&self) -> Option<RouteCors> {
        match self {
            CorsSetting::Table => None,
            CorsSetting::Off => Some(RouteCors::Off),
            CorsSetting::Own(f) => Some(RouteCors::Own(Box::new(f()))),
        }
    }
}

/// The future a generated handler returns.
pub type HandlerFuture<'r> = Pin<Box<dyn Future<Output = Response> + Send + 'r>>;

/// The function the route macros generate for each handler: extract the
/// arguments, call the handler, convert its result.
pub type HandlerFn = for<'r> fn(&'r Request<'r>) -> HandlerFuture<'r>;

/// One route of the table, built by `#[get]` & co. as a `const`.
#[derive(Debug)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path as written in the attribute.
    pub path: &'static str,
    /// The path in Lambada's spelling (`/users/<id>`).
    pub canonical: &'static str,
    /// The API Gateway resource path (`/users/{id}`, `/files/{rest+}`).
    pub apigw_path: &'static str,
    /// The matchit pattern (`/users/{id}`, `/files/{*rest}`).
    pub matchit_path: &'static str,
    /// The parsed segments.
    pub segments: &'static [Segment<'static>],
    /// The handler function's name.
    pub handler: &'static str,
    /// The module the handler is defined in.
    pub module: &'static str,
    /// The handler's arguments.
    pub params: &'static [Param],
    /// The content type the body extractor expects, if any.
    pub request_content_type: Option<&'static str>,
    /// The content type of a successful response, when known from the return type.
    pub response_content_type: Option<&'static str>,
    /// The shared-state types the handler needs.
    pub states: &'static [StateKey],
    /// Who may call it (`auth = "…"`).
    pub auth: Auth,
    /// OAuth scopes of which the caller's token must carry at least one
    /// (`scopes = […]`; API Gateway's rule for JWT and Cognito authorizers).
    pub scopes: &'static [&'static str],
    /// Its own CORS setting (`cors = …`).
    pub cors: CorsSetting,
    /// Describes it for the OpenAPI document (see [`crate::openapi`]).
    #[doc(hidden)]
    pub describe: fn(&mut crate::openapi::Doc) -> crate::openapi::Operation,
    /// Whether it streams its response (see [`crate::stream`]): its return
    /// type's [`IntoResponse::STREAMS`](crate::IntoResponse::STREAMS), or
    /// `stream` in the attribute.
    pub streams: fn() -> bool,
    /// The generated dispatch function.
    #[doc(hidden)]
    pub call: HandlerFn,
}

impl Request<'_> {
    /// The route this request matched.
    pub fn route(&self) -> Option<&'static Route> {
        self.route.and_then(|r| r.downcast_ref::<Route>())
    }
}

/// An entry of a route table: an HTTP route or a trigger handler.
#[derive(Debug)]
pub enum Entry {
    /// `#[get]` & co.
    Http(Route),
    /// `#[sns]`, `#[sqs]`, `#[kinesis]`, `#[dynamodb_stream]`,
    /// `#[schedule]`, `#[invoke]`.
    Trigger(Trigger),
    /// `#[ws_connect]`, `#[ws_disconnect]`, `#[ws_message]`.
    WebSocket(WsRoute),
}

/// Implemented by the type the handler attributes generate next to each
/// handler (a type with the handler's name), so `routes![index]` can find
/// the entry.
pub trait RouteDef {
    /// The route or trigger.
    const ENTRY: Entry;
}

/// Fills the unused slots of the arrays below; never read.
static NO_ROUTE: Route = stub_route("");

/// How many HTTP routes a table has (`routes!` sizes an array with it).
#[doc(hidden)]
pub const fn count_http(entries: &[&Entry]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < entries.len() {
        if let Entry::Http(_) = entries[i] {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The HTTP routes of a table, in order.
#[doc(hidden)]
pub const fn http_table<const N: usize>(entries: &[&'static Entry]) -> [&'static Route; N] {
    let mut out = [&NO_ROUTE; N];
    let (mut i, mut n) = (0, 0);
    while i < entries.len() {
        if let Entry::Http(r) = entries[i] {
            out[n] = r;
            n += 1;
        }
        i += 1;
    }
    out
}

/// How many trigger handlers a table has.
#[doc(hidden)]
pub const fn count_triggers(entries: &[&Entry]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < entries.len() {
        if let Entry::Trigger(_) = entries[i] {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The trigger handlers of a table, in order.
#[doc(hidden)]
pub const fn trigger_table<const N: usize>(entries: &[&'static Entry]) -> [&'static Trigger; N] {
    let mut out = [&NO_TRIGGER; N];
    let (mut i, mut n) = (0, 0);
    while i < entries.len() {
        if let Entry::Trigger(t) = entries[i] {
            out[n] = t;
            n += 1;
        }
        i += 1;
    }
    out
}

static NO_TRIGGER: Trigger = crate::trigger::stub_trigger("");

/// How many WebSocket handlers a table has.
#[doc(hidden)]
pub const fn count_ws(entries: &[&Entry]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < entries.len() {
        if let Entry::WebSocket(_) = entries[i] {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The WebSocket handlers of a table, in order.
#[doc(hidden)]
pub const fn ws_table<const N: usize>(entries: &[&'static Entry]) -> [&'static WsRoute; N] {
    let mut out = [&NO_WS_ROUTE; N];
    let (mut i, mut n) = (0, 0);
    while i < entries.len() {
        if let Entry::WebSocket(r) = entries[i] {
            out[n] = r;
            n += 1;
        }
        i += 1;
    }
    out
}

static NO_WS_ROUTE: WsRoute = crate::websocket::stub_ws_route("");

/// A route table: the routes given to [`routes!`](crate::routes), checked
/// for collisions by the compiler, plus the shared state handlers need.
///
/// ```
/// use lambada::prelude::*;
///
/// #[get("/hello/<name>")]
/// async fn hello(name: &str) -> String {
///     format!("Hello, {name}!")
/// }
///
/// let routes = routes![hello];
/// assert_eq!(routes.len(), 1);
/// assert_eq!(routes.iter().next().unwrap().apigw_path, "/hello/{name}");
/// ```
#[derive(Debug, Clone)]
pub struct Routes {
    pub(crate) table: &'static [&'static Route],
    pub(crate) triggers: &'static [&'static Trigger],
    pub(crate) states: States,
    pub(crate) options: Options,
    /// The WebSocket handlers and route selection expression.
    pub(crate) websocket: WsTable,
    /// The package the table was written in: name and version (the
    /// OpenAPI document's title and version).
    pub(crate) package: (&'static str, &'static str),
}

/// Settings of a route table.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    pub base_path: Option<String>,
    pub cors: Option<Cors>,
    pub auth: Option<String>,
}

impl Routes {
    #[doc(hidden)]
    pub const fn from_static(
        table: &'static [&'static Route],
        triggers: &'static [&'static Trigger],
        package: (&'static str, &'static str),
    ) -> Routes {
        Routes {
            table,
            triggers,
            package,
            states: States::new(),
            websocket: WsTable::new(&[]),
            options: Options {
                base_path: None,
                cors: None,
                auth: None,
            },
        }
    }

    /// Adds the WebSocket handlers (what `routes!` calls).
    #[doc(hidden)]
    pub const fn with_websocket(mut self, routes: &'static [&'static WsRoute]) -> Routes {
        self.websocket.routes = routes;
        self
    }

    /// The WebSocket handlers (see [`crate::websocket`]), in order.
    pub fn websocket(&self) -> impl Iterator<Item = &'static WsRoute> + '_ {
        self.websocket.routes.iter().copied()
    }

    /// The WebSocket handler of a route key (`$connect`, `sendmessage`).
    pub fn ws_route(&self, route_key: &str) -> Option<&'static WsRoute> {
        self.websocket.find(route_key)
    }

    /// Sets the WebSocket API's route selection expression
    /// (`$request.body.action` by default); deploy gives it to the API.
    ///
    /// ```
    /// use lambada::prelude::*;
    ///
    /// #[ws_message(route = "ping")]
    /// async fn ping() -> &'static str { "pong" }
    ///
    /// let routes = routes![ping].route_selection("$request.body.type");
    /// assert_eq!(routes.route_selection_expression(), "$request.body.type");
    /// ```
    pub fn route_selection(mut self, expression: impl Into<String>) -> Routes {
        self.websocket.selection = Some(expression.into().into());
        self
    }

    /// The WebSocket route selection expression in force.
    pub fn route_selection_expression(&self) -> &str {
        self.websocket.selection()
    }

    /// The OpenAPI 3.1 document of the HTTP routes, from the handlers'
    /// types and doc comments (see [`crate::openapi`]): paths in their
    /// OpenAPI spelling (`/files/{rest}` for `<rest..>`), an `operationId`
    /// per handler, the authorizers as security schemes (a Lambda
    /// authorizer as the API key it reads, a named one as a bearer JWT).
    pub fn openapi(&self) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        let mut doc = crate::describe::Doc::new();
        let mut paths: std::collections::BTreeMap<String, Map<String, Value>> =
            std::collections::BTreeMap::new();
        let mut ids: Vec<String> = Vec::new();
        let mut schemes = Map::new();
        for r in self.table {
            let auth = self.authorizer_of(r);
            let mut op = (r.describe)(&mut doc).finish(auth.is_some());
            let mut id = r.handler.to_owned();
            if ids.contains(&id) {
                id = format!("{}_{}", r.module.replace("::", "_"), r.handler);
            }
            ids.push(id.clone());
            op["operationId"] = json!(id);
            if let Some(name) = auth {
                op["security"] = json!([{ name: r.scopes }]);
                schemes
                    .entry(name.to_owned())
                    .or_insert_with(|| self.security_scheme(r.auth, name));
            }
            let path: String = if r.segments.is_empty() {
                "/".into()
            } else {
                r.segments
                    .iter()
                    .map(|s| match s {
                        Segment::Literal(l) => format!("/{l}"),
                        Segment::Param(n) | Segment::Tail(n) => format!("/{{{n}}}"),
                    })
                    .collect()
            };
            paths
                .entry(path)
                .or_default()
                .insert(r.method.as_str().to_ascii_lowercase(), op);
        }
        let mut components = crate::describe::finish(&mut doc);
        if !schemes.is_empty() {
            components["securitySchemes"] = Value::Object(schemes);
        }
        json!({
            "openapi": "3.1.0",
            "info": {"title": self.package.0, "version": self.package.1},
            "paths": paths,
            "components": components,
        })
    }

    /// How a caller proves who it is to the authorizer `name`.
    fn security_scheme(&self, auth: Auth, name: &str) -> serde_json::Value {
        let lambda = matches!(auth, Auth::Function(_))
            .then(|| {
                self.triggers
                    .iter()
                    .find(|t| t.handler == name)
                    .and_then(|t| t.authorizer)
            })
            .flatten();
        match lambda {
            Some(spec) => {
                let first = spec
                    .identity
                    .first()
                    .copied()
                    .unwrap_or("header.Authorization");
                let (place, key) = first.split_once('.').unwrap_or(("header", first));
                let place = if place == "query" { "query" } else { "header" };
                serde_json::json!({"type": "apiKey", "in": place, "name": key})
            }
            None => serde_json::json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
        }
    }

    /// Adds the [`OpenApi`] state: the document of this table, for a route
    /// that serves it (`State<OpenApi>`).
    pub fn with_openapi(self) -> Routes {
        let doc = OpenApi::new(self.clone());
        self.with_state(doc)
    }

    /// Adds a shared state, built once (at cold start) and handed to every
    /// handler that takes `State<T>`. Call it once per state type.
    pub fn with_state<T: Send + Sync + 'static>(mut self, state: T) -> Routes {
        self.states.insert(state);
        self
    }

    /// Strips a base path (a custom domain's base path mapping, say) from
    /// request paths before matching them. Events that carry their route
    /// template (REST `resource`, HTTP API `routeKey`) need no such setting.
    pub fn base_path(mut self, prefix: impl Into<String>) -> Routes {
        let p = prefix.into();
        self.options.base_path = Some(format!("/{}", p.trim_matches('/')));
        self
    }

    /// Answers CORS preflights and adds the CORS headers to every response
    /// (see [`Cors`](crate::Cors)). A `LAMBADA_CORS` environment variable
    /// (JSON, what `cargo lambada` sets from configuration) replaces this at
    /// cold start.
    pub fn cors(mut self, cors: Cors) -> Routes {
        self.options.cors = Some(cors);
        self
    }

    /// Protects every route without an `auth` argument of its own with the
    /// authorizer `name` (a route opts out with `auth = "none"`).
    ///
    /// ```
    /// use lambada::prelude::*;
    ///
    /// #[get("/orders/<id>", scopes = ["orders/read"])]
    /// async fn order(id: u32) -> String { id.to_string() }
    ///
    /// #[get("/health", auth = "none")]
    /// async fn health() -> &'static str { "ok" }
    ///
    /// let routes = routes![order, health].auth("users");
    /// let [order, health] = [0, 1].map(|i| routes.iter().nth(i).unwrap());
    /// assert_eq!(routes.authorizer_of(order), Some("users"));
    /// assert_eq!(routes.authorizer_of(health), None);
    /// ```
    pub fn auth(mut self, name: impl Into<String>) -> Routes {
        self.options.auth = Some(name.into());
        self
    }

    /// The authorizer protecting `route`: its own `auth`, else the table's
    /// default; `None` for a public route.
    pub fn authorizer_of<'a>(&'a self, route: &'a Route) -> Option<&'a str> {
        match route.auth {
            Auth::Public => None,
            Auth::Authorizer(name) | Auth::Function(name) => Some(name),
            Auth::Default => self.options.auth.as_deref(),
        }
    }

    /// The CORS settings in force, if any: the table's ([`Routes::cors`]),
    /// and the routes' own (`cors = …` on their attributes), with
    /// `LAMBADA_CORS` over both once [`run`](crate::run) has read it.
    ///
    /// ```
    /// use lambada::{Cors, cors::RouteCors, prelude::*};
    ///
    /// fn public() -> Cors { Cors::any_origin() }
    ///
    /// #[get("/feed", cors = public)]
    /// async fn feed() -> &'static str { "[]" }
    ///
    /// #[get("/admin", cors = false)]
    /// async fn admin() -> &'static str { "secret" }
    ///
    /// let routes = routes![feed, admin].cors(Cors::new().allow_origin("https://app.example.com"));
    /// let c = routes.cors_settings().unwrap();
    /// assert_eq!(c.origins, ["https://app.example.com"]);
    /// assert_eq!(c.routes["feed"], RouteCors::Own(Box::new(Cors::any_origin())));
    /// assert_eq!(c.routes["admin"], RouteCors::Off);
    /// ```
    pub fn cors_settings(&self) -> Option<Cors> {
        let mut code = Cors::default();
        for r in self.table {
            if let Some(s) = r.cors.settings() {
                code.routes.insert(r.handler.to_owned(), s);
            }
        }
        let code = (!code.routes.is_empty()).then_some(code);
        Cors::overlay(code.as_ref(), self.options.cors.as_ref())
    }

    /// Lays `LAMBADA_CORS` (JSON) over the CORS settings when it is set.
    pub(crate) fn cors_from_env(mut self) -> Result<Routes, crate::Error> {
        if let Some(json) = std::env::var("LAMBADA_CORS")
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            let cors: Cors = serde_json::from_str(&json)
                .map_err(|e| format!("LAMBADA_CORS is not valid CORS settings: {e}"))?;
            self.options.cors = Cors::overlay(self.options.cors.as_ref(), Some(&cors));
            if let Some(Err(e)) = self
                .cors_settings()
                .map(|c| c.check(self.table.iter().map(|r| r.handler)))
            {
                return Err(format!("LAMBADA_CORS: {e}").into());
            }
        }
        Ok(self)
    }

    /// The HTTP routes, in the order they were given.
    pub fn iter(&self) -> impl Iterator<Item = &'static Route> + '_ {
        self.table.iter().copied()
    }

    /// The trigger handlers, in the order they were given.
    pub fn triggers(&self) -> impl Iterator<Item = &'static Trigger> + '_ {
        self.triggers.iter().copied()
    }

    /// The trigger handler named `handler`, if the table has one.
    pub fn trigger(&self, handler: &str) -> Option<&'static Trigger> {
        self.triggers().find(|t| t.handler == handler)
    }

    /// How many HTTP routes there are.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the table has neither routes nor triggers nor WebSocket handlers.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty() && self.triggers.is_empty() && self.websocket.routes.is_empty()
    }

    /// Checks that every state a handler needs was given to
    /// [`with_state`](Routes::with_state). `run` calls this before serving,
    /// so a missing state is an init error, not a failure on first request.
    pub fn check(&self) -> Result<(), crate::Error> {
        let mut missing = Vec::new();
        for r in self.table {
            for s in r.states {
                if !self.states.contains((s.type_id)()) {
                    missing.push(format!(
                        "handler `{}` ({} {}) takes `State<{}>`, but no such state was given: add `.with_state(...)` to the route table",
                        r.handler,
                        r.method,
                        r.canonical,
                        (s.type_name)()
                    ));
                }
            }
        }
        for t in self.triggers {
            for s in t.states {
                if !self.states.contains((s.type_id)()) {
                    missing.push(format!(
                        "handler `{}` (#[{}]) takes `State<{}>`, but no such state was given: add `.with_state(...)` to the route table",
                        t.handler,
                        t.kind,
                        (s.type_name)()
                    ));
                }
            }
        }
        self.websocket.check(&self.states, &mut missing);
        if let Some(Err(e)) = self
            .cors_settings()
            .map(|c| c.check(self.table.iter().map(|r| r.handler)))
        {
            missing.push(e);
        }
        if let Some(name) = &self.options.auth
            && let Err(e) = check_authorizer_name(name)
        {
            missing.push(format!("the table's default authorizer: {e}"));
        }
        for r in self.table {
            if !r.scopes.is_empty() && self.authorizer_of(r).is_none() {
                missing.push(format!(
                    "handler `{}` ({} {}) requires scopes but no authorizer protects it: give it `auth = \"…\"` or the table a default with `.auth(\"…\")`",
                    r.handler, r.method, r.canonical
                ));
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.join("\n").into())
        }
    }

    /// The table as JSON (what `cargo lambada routes` reads from the binary).
    pub fn manifest(&self) -> serde_json::Value {
        let routes: Vec<_> = self
            .table
            .iter()
            .map(|r| {
                serde_json::json!({
                    "kind": "http",
                    "method": r.method.as_str(),
                    "path": r.canonical,
                    "apigw_path": r.apigw_path,
                    "handler": r.handler,
                    "streams": (r.streams)(),
                    "module": r.module,
                    "params": r.params.iter().map(|p| serde_json::json!({
                        "name": p.name,
                        "source": format!("{:?}", p.source).to_lowercase(),
                        "type": p.ty,
                        "optional": p.optional,
                    })).collect::<Vec<_>>(),
                    "request_content_type": r.request_content_type,
                    "response_content_type": r.response_content_type,
                    "auth": self.authorizer_of(r),
                    "scopes": r.scopes,
                })
            })
            .collect();
        let triggers: Vec<_> = self.triggers.iter().map(|t| t.manifest()).collect();
        serde_json::json!({
            "lambada": env!("CARGO_PKG_VERSION"),
            "routes": routes,
            "triggers": triggers,
            "websocket": self.websocket.manifest(),
            "cors": self.cors_settings(),
            "openapi": self.openapi(),
        })
    }
}

/// The route emitted in place of one whose attribute had errors (so
/// `routes!` adds no follow-on errors). Never dispatched: the crate
/// does not compile.
#[doc(hidden)]
pub const fn stub_route(handler: &'static str) -> Route {
    fn never<'r>(_: &'r Request<'r>) -> HandlerFuture<'r> {
        Box::pin(async { unreachable!("stub routes are never compiled into a binary") })
    }
    Route {
        method: Method::Get,
        path: "",
        canonical: "",
        apigw_path: "",
        matchit_path: "",
        segments: &[],
        handler,
        module: "",
        params: &[],
        request_content_type: None,
        response_content_type: None,
        states: &[],
        auth: Auth::Default,
        scopes: &[],
        cors: CorsSetting::Table,
        describe: |_| crate::describe::Operation::default(),
        streams: || false,
        call: never,
    }
}

/// Checks an authorizer name ([`lambada_path::authorizer_name`]), and
/// that it is not `none` (which means "public").
pub(crate) fn check_authorizer_name(name: &str) -> Result<(), String> {
    if name == "none" {
        return Err("`none` is not an authorizer: it marks a public route".into());
    }
    lambada_path::authorizer_name(name)
}

/// Compile-time message buffer for route-table assertions.
struct Msg {
    buf: [u8; 512],
    len: usize,
}

impl Msg {
    const fn new() -> Msg {
        Msg {
            buf: [0; 512],
            len: 0,
        }
    }
    const fn push(mut self, s: &str) -> Msg {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() && self.len < self.buf.len() {
            self.buf[self.len] = b[i];
            self.len += 1;
            i += 1;
        }
        self
    }
    const fn route(self, r: &Route) -> Msg {
        self.push("`")
            .push(r.method.as_str())
            .push(" ")
            .push(r.canonical)
            .push("` (")
            .push(r.handler)
            .push(")")
    }
}

/// Checks entry `i` of a table against the entries before it; panics (a
/// compile error, since `routes!` calls it in a `const`) on two routes that
/// collide, on two variables API Gateway would refuse as siblings, and on two
/// trigger handlers with one name (each names a deployed function).
#[doc(hidden)]
pub const fn check_route(table: &[&Entry], i: usize) {
    match table[i] {
        Entry::Http(r) => check_http(table, i, r),
        Entry::Trigger(t) => check_trigger(table, i, t),
        Entry::WebSocket(w) => check_ws(table, i, w),
    }
}

const fn check_trigger(table: &[&Entry], i: usize, t: &Trigger) {
    if t.handler.is_empty() {
        return;
    }
    let mut j = 0;
    while j < i {
        if let Entry::Trigger(o) = table[j]
            && const_eq(o.handler, t.handler)
        {
            let m = Msg::new()
                .push("two trigger handlers are named `")
                .push(t.handler)
                .push("` (modules `")
                .push(o.module)
                .push("` and `")
                .push(t.module)
                .push("`): the name is the deployed function's `Handler`, so it must be unique in the table; rename one");
            let msg = match std::str::from_utf8(m.buf.split_at(m.len).0) {
                Ok(s) => s,
                Err(_) => "two trigger handlers with one name",
            };
            panic!("{}", msg);
        }
        j += 1;
    }
}

/// Two WebSocket handlers of one route key: API Gateway has one
/// integration per route.
const fn check_ws(table: &[&Entry], i: usize, w: &WsRoute) {
    if w.route_key.is_empty() {
        return; // a stub left by an attribute with errors
    }
    let mut j = 0;
    while j < i {
        if let Entry::WebSocket(o) = table[j]
            && const_eq(o.route_key, w.route_key)
        {
            let m = Msg::new()
                .push("WebSocket handlers `")
                .push(o.handler)
                .push("` and `")
                .push(w.handler)
                .push("` both handle route `")
                .push(w.route_key)
                .push("`: a WebSocket route has one handler; remove one from the table or give it another route key");
            let msg = match std::str::from_utf8(m.buf.split_at(m.len).0) {
                Ok(s) => s,
                Err(_) => "two WebSocket handlers of one route",
            };
            panic!("{}", msg);
        }
        j += 1;
    }
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn check_http(table: &[&Entry], i: usize, r: &Route) {
    if r.path.is_empty() {
        return; // a stub left by a route attribute with errors
    }
    if let Auth::Function(name) = r.auth {
        check_authorizer_listed(table, r, name);
    }
    let mut j = 0;
    while j < i {
        let o = match table[j] {
            Entry::Http(o) if !o.path.is_empty() => o,
            _ => {
                j += 1;
                continue;
            }
        };
        if o.method as u8 == r.method as u8 && lambada_path::collision(r.segments, o.segments) {
            let m = Msg::new()
                .push("route ")
                .route(r)
                .push(" collides with route ")
                .route(o)
                .push(": both match the same requests; remove one or give them different paths");
            // SAFETY-free: the buffer only ever holds whole UTF-8 strings, but
            // may be cut mid-character at 512 bytes; fall back to a fixed text.
            let msg = match std::str::from_utf8(m.buf.split_at(m.len).0) {
                Ok(s) => s,
                Err(_) => "route collision",
            };
            panic!("{}", msg);
        }
        if let Some(seg) = lambada_path::sibling_conflict(r.segments, o.segments) {
            let (a, b) = (r.segments[seg], o.segments[seg]);
            let m = Msg::new()
                .push("route ")
                .route(r)
                .push(" and route ")
                .route(o)
                .push(" use different variables (")
                .push(var(a))
                .push(" and ")
                .push(var(b))
                .push(") at the same position of the same parent path; API Gateway refuses sibling resources with different variable names: use one name");
            let msg = match std::str::from_utf8(m.buf.split_at(m.len).0) {
                Ok(s) => s,
                Err(_) => "conflicting path variables",
            };
            panic!("{}", msg);
        }
        j += 1;
    }
}

/// A route protected by `auth = name` needs the `#[authorizer]` `name` in
/// its table: deploy creates the authorizers it finds there.
const fn check_authorizer_listed(table: &[&Entry], r: &Route, name: &str) {
    let mut j = 0;
    while j < table.len() {
        if let Entry::Trigger(t) = table[j]
            && t.authorizer.is_some()
            && const_eq(t.handler, name)
        {
            return;
        }
        j += 1;
    }
    let m = Msg::new()
        .push("route ")
        .route(r)
        .push(" is protected by the authorizer `")
        .push(name)
        .push("`, which is not in this `routes![…]`: add `")
        .push(name)
        .push("` to it");
    let msg = match std::str::from_utf8(m.buf.split_at(m.len).0) {
        Ok(s) => s,
        Err(_) => "a route's authorizer is not in the table",
    };
    panic!("{}", msg);
}

const fn var(s: Segment<'static>) -> &'static str {
    match s {
        Segment::Param(n) | Segment::Tail(n) | Segment::Literal(n) => n,
    }
}

/// `GET /openapi.json`-style routes: the document of the app's own table,
/// built once, on the first request.
///
/// ```
/// use lambada::openapi::OpenApi;
/// use lambada::prelude::*;
///
/// #[get("/hello")]
/// async fn hello() -> &'static str { "hi" }
///
/// /// This API's OpenAPI document.
/// #[get("/openapi.json")]
/// async fn spec(doc: State<OpenApi>) -> Json<serde_json::Value> {
///     Json(doc.document().clone())
/// }
///
/// # tokio_test_block_on(async {
/// let app = routes![hello, spec].with_openapi();
/// let res = lambada::test::Client::new(app).get("/openapi.json").send().await;
/// assert_eq!(res.json::<serde_json::Value>()["paths"]["/hello"]["get"]["operationId"], "hello");
/// # });
/// # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug)]
pub struct OpenApi {
    routes: Routes,
    document: std::sync::OnceLock<serde_json::Value>,
}

impl OpenApi {
    pub(crate) fn new(routes: Routes) -> OpenApi {
        OpenApi {
            routes,
            document: std::sync::OnceLock::new(),
        }
    }

    /// The document (built on first use).
    pub fn document(&self) -> &serde_json::Value {
        self.document.get_or_init(|| self.routes.openapi())
    }
}
