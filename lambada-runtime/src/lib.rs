//! # Lambada
//!
//! Annotated Rust functions as a serverless API on AWS Lambda and API
//! Gateway, in the spirit of Java's Lambada Framework: the routes are read
//! from attributes at compile time, and `cargo lambada deploy` turns them into
//! a Lambda function and an API Gateway REST API.
//!
//! ```no_run
//! use lambada::prelude::*;
//!
//! #[get("/helloworld/<id>")]
//! async fn index(id: u32) -> String {
//!     format!("Hello world: {id}")
//! }
//!
//! #[lambada::main]
//! async fn main() -> Result<(), lambada::Error> {
//!     lambada::run(routes![index]).await
//! }
//! ```
//!
//! The same binary is a Lambda custom runtime (`bootstrap`) when Lambda
//! starts it, and a plain HTTP/1.1 server otherwise (`LAMBADA_MODE=http`,
//! `PORT`; the `http-server` feature), so one app runs behind API Gateway,
//! an ALB or in a container.
//!
//! ## Routes
//!
//! `#[get]`, `#[post]`, `#[put]`, `#[delete]`, `#[patch]`, `#[head]`,
//! `#[options]` and `#[route(METHOD, "/path")]` take a path:
//!
//! ```text
//! path     = "/" | ("/" segment)+ [ "?" query ]
//! segment  = literal | "<" name ">" | "<" name "..>" | "{" name "}" | "{" name "+}"
//! query    = "<" name ">" *( "&" "<" name ">" )
//! ```
//!
//! `<name>` (or `{name}`) is a typed segment, `<name..>` (or `{name+}`) the
//! greedy rest of the path. [`routes!`] builds the table as a `const`; two
//! routes that would collide, or that API Gateway would refuse as siblings
//! (`/users/<id>` beside `/users/<user_id>/posts`), are a compile error.
//!
//! ## Arguments
//!
//! | argument | source |
//! |---|---|
//! | named like a path parameter | the segment, parsed with [`FromParam`] |
//! | named like a declared query parameter (`?<q>`) or marked `#[query]` | the query string: `T`, `Option<T>`, `Vec<T>` |
//! | `#[header]` (`user_agent` reads `user-agent`) or `#[header("x-name")]` | a header |
//! | `#[cookie]` / `#[cookie("name")]` | a cookie |
//! | [`Query<T>`], [`State<T>`], [`Context`], [`Cookies`], [`RawEvent`], `HeaderMap`, `Method`, `&Request` | by type ([`FromRequestParts`]) |
//! | the last argument: [`Json<T>`], [`Form<T>`], `String`, `&str`, `Bytes`, `Vec<u8>`, `&[u8]` | the body ([`FromRequest`]) |
//!
//! Return anything that implements [`IntoResponse`]. Extraction failures are
//! `application/problem+json` responses (400, 415, 422), never Lambda errors.
//!
//! ## Triggers
//!
//! `#[sns]`, `#[sqs]`, `#[kinesis]`, `#[dynamodb_stream]`, `#[s3]`,
//! `#[event_pattern]`, `#[schedule]` and `#[invoke]` handlers go in the same
//! table; each is deployed as a function
//! of its own from the same binary. See [`trigger`].
//!
//! ## WebSocket APIs
//!
//! `#[ws_connect]`, `#[ws_disconnect]` and `#[ws_message(route = "…")]`
//! handlers go in the same table; deploy puts an API Gateway WebSocket API
//! in front of the API function. See [`websocket`], and [`connections`]
//! (the `websocket` feature) for posting to clients.
//!
//! ## Authorizers and CORS
//!
//! After the path, a route attribute takes `auth = "name"` (a Cognito or
//! JWT authorizer configured by name), `auth = fn_name` (an
//! [`#[authorizer]`](macro@authorizer) function of the table), `auth =
//! "none"`, `scopes = ["…"]`, and `cors = settings_fn` / `cors = false`
//! (the route's own [`Cors`] settings, or none). The handler reads who
//! called with [`auth::Claims`] or [`auth::AuthContext`]; see [`auth`],
//! [`authorizer`](mod@authorizer) and [`cors`].
//!
//! ## Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `http-server` | yes | the plain HTTP/1.1 server mode (hyper), for containers. Without it the binary serves under Lambda only (about 0.3 MB smaller) and says so when started elsewhere |
//! | `test-client` | yes | [`test::Client`], which builds events with `aws_lambda_events` |
//! | `uuid` | no | `FromParam` for `uuid::Uuid` |
//! | `websocket` | no | [`connections::Connections`]: posting to WebSocket clients through the API Gateway Management API (the AWS SDK, see the README for its size). WebSocket handlers need no feature |
//! | `env-filter` | no | `RUST_LOG`'s full `EnvFilter` syntax (span and field filters; brings a regex engine, about 0.5 MB of the binary). Without it, `RUST_LOG` (else `AWS_LAMBDA_LOG_LEVEL`) takes `level` and `target=level` directives, comma-separated |
#![warn(missing_docs)]

// The modules read one way: each uses only modules of lower layers (and
// the crate root's `Error`), never one built on it. Lowest first:
//
//   method, state, invocation, panic, response   plain types
//   request, describe, stream                     Request, Context, EventKind;
//                                                 OpenAPI descriptions; streamed bodies
//   extract, cors, decision                       extractors; CORS; authorizer data
//   trigger                                       non-HTTP handlers
//   authorizer, event                             #[authorizer]; HTTP events in and out
//   websocket                                     WebSocket routes and events
//   connections                                   the Management API (feature `websocket`)
//   route                                         Route, Routes: the table
//   auth                                          Claims, AuthContext, enforcement
//   dispatch                                      App: event → route → handler
//   logging, runtime, server, test                what serves an App
//
// `tests/layers.rs` checks it.
pub mod auth;
pub mod authorizer;
#[cfg(feature = "websocket")]
pub mod connections;
pub mod cors;
mod decision;
mod describe;
mod dispatch;
mod event;
mod extract;
mod invocation;
mod logging;
mod method;
mod panic;
mod request;
mod response;
mod route;
mod runtime;
#[cfg(feature = "http-server")]
mod server;
mod state;
pub mod stream;
#[cfg(feature = "test-client")]
pub mod test;
pub mod trigger;
pub mod websocket;

pub use cors::Cors;
pub use dispatch::App;
pub use event::EventError;
pub use extract::{
    Cookies, FieldKind, Form, FromField, FromParam, FromRequest, FromRequestParts, Json, Query,
    RawEvent, State,
};
/// The `http` crate, re-exported so apps and tests need no extra dependency.
pub use http;
pub use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
pub use invocation::Invocation;
pub use lambada_macros::{
    HttpError, authorizer, delete, dynamodb_stream, event_pattern, get, head, invoke, kinesis,
    main, options, patch, post, put, route, routes, s3, schedule, sns, sqs, ws_connect,
    ws_disconnect, ws_message,
};
pub use method::Method;
pub use request::{Context, EventKind, Request};
pub use response::{ApiError, Body, Html, HttpError, IntoResponse, Problem, Redirect, Response};
pub use route::{Auth, CorsSetting, Entry, Param, Route, RouteDef, Routes, Source};
pub use state::StateKey;

/// The error type of `main` and of [`run`].
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a handler module needs: `use lambada::prelude::*;`.
pub mod prelude {
    pub use crate::auth::{AuthContext, Claims};
    pub use crate::authorizer::{AuthorizerRequest, Decision};
    pub use crate::trigger::{
        EventBridgeEvent, Failures, KinesisRecord, LambdaContext, Raw, Records, S3Object,
        ScheduledEvent, SnsMessage, SqsMessage, StreamRecord,
    };
    pub use crate::websocket::{ConnectionId, WsContext};
    pub use crate::{
        Context, Cookies, Cors, EventKind, Form, HeaderMap, HeaderName, Html, HttpError,
        IntoResponse, Json, Problem, Query, RawEvent, Redirect, Request, Response, Routes, State,
        StatusCode, authorizer, delete, dynamodb_stream, event_pattern, get, head, invoke, kinesis,
        options, patch, post, put, route, routes, s3, schedule, sns, sqs,
    };
    pub use crate::{ws_connect, ws_disconnect, ws_message};
}

/// How [`run`] serves the routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The Lambda Runtime API at `host:port`.
    Lambda(String),
    /// A plain HTTP server on this address (with the `http-server` feature;
    /// without it, [`run_with`] answers this mode with an error).
    Http(std::net::SocketAddr),
}

impl Mode {
    /// Decides from the environment: `LAMBADA_MODE=http` or no
    /// `AWS_LAMBDA_RUNTIME_API` means HTTP on `$HOST:$PORT` (default
    /// `0.0.0.0:8080`); otherwise Lambda.
    pub fn from_env() -> Result<Mode, Error> {
        let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
            .ok()
            .filter(|a| !a.is_empty());
        let forced = std::env::var("LAMBADA_MODE").ok();
        match (forced.as_deref(), api) {
            (Some("lambda"), None) => {
                Err("LAMBADA_MODE=lambda but AWS_LAMBDA_RUNTIME_API is not set".into())
            }
            (Some("http"), _) | (_, None) => {
                let host = std::env::var("HOST").unwrap_or_else(|_| "0.0.0.0".into());
                let port: u16 = match std::env::var("PORT") {
                    Ok(p) => p
                        .parse()
                        .map_err(|_| format!("PORT must be a port number, got `{p}`"))?,
                    Err(_) => 8080,
                };
                let ip: std::net::IpAddr = host
                    .parse()
                    .map_err(|_| format!("HOST must be an IP address, got `{host}`"))?;
                Ok(Mode::Http((ip, port).into()))
            }
            (_, Some(api)) => Ok(Mode::Lambda(api)),
        }
    }
}

/// Serves a route table: as a Lambda custom runtime under Lambda, as an HTTP
/// server otherwise (see [`Mode::from_env`]).
///
/// Run with `LAMBADA_ROUTES=1` (what `cargo lambada routes` does), the binary
/// prints its route table as JSON and exits.
pub async fn run(routes: Routes) -> Result<(), Error> {
    if std::env::var_os("LAMBADA_ROUTES").is_some() {
        println!("{}", routes.manifest());
        return Ok(());
    }
    logging::init();
    run_with(routes, Mode::from_env()?).await
}

/// Serves a route table in the given mode. A handler whose `State<T>` was
/// not provided is an init error (reported to the Runtime API under Lambda)
/// before anything is served.
pub async fn run_with(routes: Routes, mode: Mode) -> Result<(), Error> {
    let routes = match routes.cors_from_env() {
        Ok(r) => r,
        Err(e) => {
            if let Mode::Lambda(api) = &mode {
                let _ = runtime::init_error(api, "Lambada.InvalidCors", &e.to_string()).await;
            }
            return Err(e);
        }
    };
    if let Err(e) = routes.check() {
        if let Mode::Lambda(api) = &mode {
            let _ = runtime::init_error(api, "Lambada.MissingState", &e.to_string()).await;
        }
        return Err(e);
    }
    let handler = std::env::var("_HANDLER").ok();
    let app = match App::for_handler(routes, handler.as_deref()) {
        Ok(app) => app,
        Err(e) => {
            if let Mode::Lambda(api) = &mode {
                let _ = runtime::init_error(api, "Lambada.UnknownHandler", &e.to_string()).await;
            }
            return Err(e);
        }
    };
    if let Some(t) = app.trigger() {
        if let Mode::Http(_) = mode {
            return Err(format!(
                "`_HANDLER` names the #[{}] handler `{}`: trigger handlers run under Lambda only (set AWS_LAMBDA_RUNTIME_API)",
                t.kind, t.handler
            )
            .into());
        }
        tracing::debug!(handler = t.handler, kind = %t.kind, "serving a trigger handler");
    }
    match mode {
        Mode::Lambda(api) => runtime::serve(app, &api).await,
        #[cfg(feature = "http-server")]
        Mode::Http(addr) => server::serve(app, addr).await,
        #[cfg(not(feature = "http-server"))]
        Mode::Http(addr) => Err(format!(
            "not started by Lambda (no AWS_LAMBDA_RUNTIME_API), and this binary has no HTTP server mode to serve {addr} with: build it with lambada's `http-server` feature"
        )
        .into()),
    }
}

pub mod openapi {
    //! OpenAPI 3.1 documents of route tables, generated from the handlers'
    //! types.
    //!
    //! Each route attribute generates, next to the handler, a function that
    //! describes it: its parameters typed from the arguments' Rust types
    //! (integers with their ranges, floats, `bool`, `Uuid`, `Option<T>` not
    //! required, `Vec<T>` an exploded array), its body from `Json<T>`,
    //! `Form<T>`, `String` or bytes, its responses from the return type
    //! (`Json<T>`, `String`, [`Html`](crate::Html), `()` → 204,
    //! [`Redirect`](crate::Redirect) → a 3XX with `Location`, `Result<T, E>`
    //! with every status a `#[derive(HttpError)]` error can answer), and the
    //! framework's own 400/401/403/415/422 problem responses, described once
    //! as components. Doc comments become `summary` and `description`; the
    //! `operationId` is the handler's name. Nothing of it runs when requests
    //! are served: [`Routes::openapi`](crate::Routes::openapi) builds the
    //! document on demand (`cargo lambada openapi`, `package`, `deploy`, or an
    //! [`OpenApi`] route).
    //!
    //! With the `schemars` feature, a type implementing
    //! [`schemars::JsonSchema`](https://docs.rs/schemars) gets its schema from
    //! it (into `components/schemas`); any other type still gets a correct
    //! document: an open schema (`{}`), never a compile error.
    //!
    //! ```
    //! use lambada::prelude::*;
    //!
    //! /// Greets somebody.
    //! ///
    //! /// The name comes from the path.
    //! #[get("/hello/<name>?<times>")]
    //! async fn hello(name: &str, times: Option<u8>) -> String {
    //!     format!("Hello, {name}!").repeat(times.unwrap_or(1).into())
    //! }
    //!
    //! let doc = routes![hello].openapi();
    //! let op = &doc["paths"]["/hello/{name}"]["get"];
    //! assert_eq!(op["operationId"], "hello");
    //! assert_eq!(op["summary"], "Greets somebody.");
    //! assert_eq!(op["parameters"][1]["schema"]["maximum"], 255);
    //! assert_eq!(op["parameters"][1]["required"], false);
    //! assert_eq!(op["responses"]["200"]["content"]["text/plain; charset=utf-8"]["schema"]["type"], "string");
    //! ```

    pub use crate::describe::{Doc, Operation, PROBLEM, Responses, TEXT};
    pub use crate::route::OpenApi;
}

#[doc(hidden)]
pub mod __private {
    pub use crate::authorizer::{AuthorizerDef, AuthorizerInput, AuthorizerSpec, drive_authorizer};
    pub use crate::extract::marker::{ViaBody, ViaParts};
    pub use crate::route::{
        Auth, CorsSetting, Entry, HandlerFuture, Param, Route, RouteDef, Source, check_route,
        count_http, count_triggers, http_table, stub_route, trigger_table,
    };
    pub use crate::route::{count_ws, ws_table};
    pub use crate::state::StateKey;
    pub use crate::stream::{StreamProbe, ViaNoStream, ViaStreams};
    pub use crate::trigger::{
        DynamoDbStreamInput, EventBridgeInput, FromInvocation, InvokeInput, KinesisInput,
        OneFuture, S3Input, ScheduleInput, SnsInput, SqsInput, Trigger, TriggerCall, TriggerFuture,
        TriggerKind, TriggerOutput, drive_dynamodb_stream, drive_event_bridge, drive_invoke,
        drive_kinesis, drive_s3, drive_schedule, drive_sns, drive_sqs, stub_trigger,
    };
    pub use crate::websocket::{
        FromWsRequest, WsFuture, WsRequest, WsRoute, drive as ws_drive, extract as ws_extract,
        stub_ws_route,
    };
    pub use lambada_path::Segment;
    pub use serde_json;

    /// What the route attributes' OpenAPI descriptions call.
    pub mod openapi {
        pub use crate::describe::{
            Doc, Operation, Probe, ViaAnyResponse, ViaBuiltin, ViaJsonSchema, ViaOpen, ViaResponses,
        };
    }

    use crate::extract::{FieldKind, FromField};
    use crate::request::Request;
    use crate::response::{IntoResponse, Problem, Response};

    /// Builds the runtime `#[lambada::main]` runs on and runs `fut` on it:
    /// one thread under Lambda (a function has a fraction of a vCPU and one
    /// invocation at a time), the multi-thread scheduler in HTTP server
    /// mode (a container serves concurrent requests on all its cores).
    pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
        let http = cfg!(feature = "http-server")
            && std::env::var_os("LAMBADA_ROUTES").is_none()
            && matches!(crate::Mode::from_env(), Ok(crate::Mode::Http(_)));
        if http {
            block_on_multi_thread(fut)
        } else {
            block_on_current_thread(fut)
        }
    }

    /// `#[lambada::main(flavor = "current_thread")]`.
    pub fn block_on_current_thread<F: std::future::Future>(fut: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot build the tokio runtime")
            .block_on(fut)
    }

    /// `#[lambada::main(flavor = "multi_thread")]`.
    pub fn block_on_multi_thread<F: std::future::Future>(fut: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("cannot build the tokio runtime")
            .block_on(fut)
    }

    /// A path parameter.
    #[inline]
    pub fn path<'r, T: crate::FromParam<'r>>(
        req: &'r Request<'r>,
        name: &'static str,
    ) -> Result<T, Problem> {
        let raw = req.param(name).unwrap_or("");
        T::from_param(raw).map_err(|e| {
            Problem::new(
                http::StatusCode::BAD_REQUEST,
                format!("path parameter `{name}`: cannot parse `{raw}`: {e}"),
            )
        })
    }

    /// A named query parameter.
    #[inline]
    pub fn query<'r, T: FromField<'r>>(
        req: &'r Request<'r>,
        name: &'static str,
    ) -> Result<T, Problem> {
        T::from_field(FieldKind::Query, name, req.query_all(name))
    }

    /// A named header.
    #[inline]
    pub fn header<'r, T: FromField<'r>>(
        req: &'r Request<'r>,
        name: &'static str,
    ) -> Result<T, Problem> {
        T::from_field(FieldKind::Header, name, req.header_all(name))
    }

    /// A named cookie.
    #[inline]
    pub fn cookie<'r, T: FromField<'r>>(
        req: &'r Request<'r>,
        name: &'static str,
    ) -> Result<T, Problem> {
        T::from_field(FieldKind::Cookie, name, req.cookie(name).into_iter())
    }

    /// Converts a handler's return value.
    #[inline]
    pub fn respond<T: IntoResponse>(value: T) -> Response {
        value.into_response()
    }
}

#[cfg(all(test, not(feature = "http-server")))]
mod lambda_only {
    use super::*;

    #[tokio::test]
    async fn the_http_mode_is_refused_with_the_feature_to_add() {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let err = run_with(
            Routes::from_static(&[], &[], ("app", "0.1.0")),
            Mode::Http(addr),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("`http-server` feature"), "{err}");
    }
}
