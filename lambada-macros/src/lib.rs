//! Procedural macros for [Lambada](https://docs.rs/lambada-runtime).
//!
//! **Do not depend on this crate directly.** Depend on `lambada-runtime`,
//! which re-exports every macro here and provides the types the generated
//! code refers to (through `::lambada::__private`).
//!
//! Set `LAMBADA_MACROS_DEBUG=1` while building to print every expansion.

use proc_macro::TokenStream;

mod attr;
mod http_error;
mod main_attr;
mod openapi;
mod route;
mod routes;
mod trigger;
mod websocket;

fn debug(name: &str, tokens: proc_macro2::TokenStream) -> TokenStream {
    if std::env::var_os("LAMBADA_MACROS_DEBUG").is_some() {
        eprintln!("--- lambada-macros: {name} ---\n{tokens}\n");
    }
    tokens.into()
}

macro_rules! method_attr {
    ($($(#[$doc:meta])* $name:ident => $method:ident;)*) => {$(
        $(#[$doc])*
        #[proc_macro_attribute]
        pub fn $name(args: TokenStream, item: TokenStream) -> TokenStream {
            debug(
                stringify!($name),
                route::expand(Some(route::HttpMethod::$method), args.into(), item.into()),
            )
        }
    )*};
}

method_attr! {
    /// Routes `GET` requests on a path to this function: `#[get("/users/<id>")]`.
    ///
    /// See the `lambada` crate documentation for the path grammar and the
    /// handler arguments.
    ///
    /// After the path, every method attribute takes:
    ///
    /// | argument | what |
    /// |---|---|
    /// | `auth = "name"` | the authorizer that protects the route (configured as `[package.metadata.lambada.authorizers.name]`) |
    /// | `auth = name` | the `#[authorizer]` function `name` (in the same `routes![…]`) |
    /// | `auth = "none"` | public, even when the table has a default (`routes![…].auth("name")`) |
    /// | `scopes = ["orders/read", …]` | the caller's token must carry at least one of them |
    ///
    /// `#[get("/orders/<id>", auth = "users", scopes = ["orders/read"])]`
    get => Get;
    /// Routes `POST` requests: `#[post("/items")]`.
    post => Post;
    /// Routes `PUT` requests: `#[put("/items/<id>")]`.
    put => Put;
    /// Routes `DELETE` requests: `#[delete("/items/<id>")]`.
    delete => Delete;
    /// Routes `PATCH` requests: `#[patch("/items/<id>")]`.
    patch => Patch;
    /// Routes `HEAD` requests: `#[head("/items/<id>")]`.
    head => Head;
    /// Routes `OPTIONS` requests: `#[options("/items")]`.
    options => Options;
}

macro_rules! trigger_attr {
    ($($(#[$doc:meta])* $name:ident => $kind:ident;)*) => {$(
        $(#[$doc])*
        #[proc_macro_attribute]
        pub fn $name(args: TokenStream, item: TokenStream) -> TokenStream {
            debug(
                stringify!($name),
                trigger::expand(&trigger::kinds::$kind, args.into(), item.into()),
            )
        }
    )*};
}

trigger_attr! {
    /// Runs this function for each message of an SNS topic:
    /// `#[sns(topic = "notifications")]` (a topic name, created by deploy
    /// when missing, or an ARN). The first argument is
    /// `SnsMessage<T>`; a failure is a function error, so SNS retries.
    ///
    /// Every trigger attribute also takes `timeout = <s>`, `memory = <MB>`
    /// and `concurrency = <n>` for the function deploy creates for it.
    sns => SNS;
    /// Runs this function for each message of an SQS queue:
    /// `#[sqs(queue = "orders", batch_size = 10, batch_window = 5)]`. The
    /// first argument is `SqsMessage<T>`; failed messages are reported in
    /// `batchItemFailures`, so only they are retried.
    sqs => SQS;
    /// Runs this function for each record of a Kinesis stream:
    /// `#[kinesis(stream = "clicks", starting_position = "LATEST",
    /// batch_size = 100)]`. The first argument is `KinesisRecord<T>`; the
    /// first failure stops the batch and is reported in `batchItemFailures`.
    kinesis => KINESIS;
    /// Runs this function for each record of a DynamoDB table's stream:
    /// `#[dynamodb_stream(table = "devices")]`. The first argument is
    /// `StreamRecord<T>`, with old and new images as plain `T`.
    dynamodb_stream => DYNAMODB_STREAM;
    /// Runs this function for each object event of an S3 bucket:
    /// `#[s3(bucket = "uploads", events = ["s3:ObjectCreated:*"], prefix =
    /// "incoming/", suffix = ".csv")]` (`events` defaults to
    /// `s3:ObjectCreated:*`; the names are checked at compile time). The
    /// first argument is `S3Object`, its key URL-decoded; a failure is a
    /// function error, so Lambda retries. Deploy adds the function to the
    /// bucket's notification configuration, keeping the others.
    s3 => S3;
    /// Runs this function for each event an EventBridge rule matches:
    /// `#[event_pattern(source = ["shop.orders"], detail_type =
    /// ["OrderPlaced"], bus = "orders")]` (`bus` defaults to `default`). The
    /// first argument is `EventBridgeEvent<T>`, `T` the event's `detail`; a
    /// failure is a function error, so Lambda retries.
    event_pattern => EVENT_PATTERN;
    /// Runs this function on an EventBridge schedule:
    /// `#[schedule("rate(15 minutes)")]`, `#[schedule("cron(0 12 * * ? *)",
    /// input = {"key": "value"})]`. The expression is checked at compile
    /// time. The argument is `ScheduledEvent`, or `Json<T>` of the `input`.
    schedule => SCHEDULE;
    /// A function invoked directly (the SDK, an IoT rule, Step Functions)
    /// with a JSON payload: `#[invoke] async fn register(Json(d):
    /// Json<Device>) -> Result<Json<Reply>, Error>`. The return value is the
    /// response; an error is a function error.
    invoke => INVOKE;
    /// A Lambda authorizer API Gateway runs before the routes it protects:
    /// `#[authorizer(token)]` (the value of one header, `Authorization`
    /// unless `identity = "header.NAME"`) or `#[authorizer(request,
    /// identity = ["header.x-api-key", "query.key"])]` (the whole request;
    /// a request without every identity source is refused with 401), and
    /// `ttl = <s>` for how long API Gateway caches an answer (default 300,
    /// 0 to 3600). The argument is `AuthorizerRequest`; the return value a
    /// `Decision` (or `Result<Decision, E>`). A route names it without
    /// quotes, `#[get("/reports", auth = api_key)]`, so a typo is a compile
    /// error; deploy gives it a function of its own from the same zip.
    authorizer => AUTHORIZER;
}

/// Handles the `$connect` of a WebSocket API: `#[ws_connect] async fn
/// join(id: ConnectionId, ctx: WsContext) -> StatusCode`. An answer
/// outside 2XX refuses the connection. Takes no arguments.
#[proc_macro_attribute]
pub fn ws_connect(args: TokenStream, item: TokenStream) -> TokenStream {
    debug(
        "ws_connect",
        websocket::expand(websocket::Kind::Connect, args.into(), item.into()),
    )
}

/// Handles the `$disconnect` of a WebSocket API (the connection is closed
/// already; the answer is ignored). Takes no arguments.
#[proc_macro_attribute]
pub fn ws_disconnect(args: TokenStream, item: TokenStream) -> TokenStream {
    debug(
        "ws_disconnect",
        websocket::expand(websocket::Kind::Disconnect, args.into(), item.into()),
    )
}

/// Handles the messages of one WebSocket route: `#[ws_message(route =
/// "sendmessage")]` (the value of the route selection field, `action` by
/// default) or `#[ws_message(route = "$default")]` (every message no other
/// route takes). The message is `Json<T>`, `String` or `Bytes`.
#[proc_macro_attribute]
pub fn ws_message(args: TokenStream, item: TokenStream) -> TokenStream {
    debug(
        "ws_message",
        websocket::expand(websocket::Kind::Message, args.into(), item.into()),
    )
}

/// Routes requests with the given method: `#[route(GET, "/users/<id>")]`.
#[proc_macro_attribute]
pub fn route(args: TokenStream, item: TokenStream) -> TokenStream {
    debug("route", route::expand(None, args.into(), item.into()))
}

/// Builds a route table from handlers: `routes![index, users::create]`.
///
/// The table is a `const`: a route that collides with another, or that API
/// Gateway would refuse beside another, is a compile error under its name.
#[proc_macro]
pub fn routes(input: TokenStream) -> TokenStream {
    debug("routes!", routes::expand(input.into()))
}

/// Runs an `async fn main` on a tokio runtime chosen by how the binary was
/// started: single-threaded under Lambda (what a function's fraction of a
/// vCPU and one invocation at a time call for), multi-threaded in HTTP server
/// mode (a container serving concurrent requests). `#[lambada::main(flavor =
/// "current_thread")]` or `(flavor = "multi_thread")` forces one.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    debug("main", main_attr::expand(args.into(), item.into()))
}

/// Derives `HttpError` and `IntoResponse` for an error type: each variant
/// (or the type itself) carries `#[status(NOT_FOUND)]` or `#[status(404)]`;
/// the response is a problem document with the `Display` text.
#[proc_macro_derive(HttpError, attributes(status))]
pub fn derive_http_error(input: TokenStream) -> TokenStream {
    debug("derive(HttpError)", http_error::expand(input.into()))
}
