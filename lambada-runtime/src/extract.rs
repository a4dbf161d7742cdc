//! Extractors: how handler arguments are read from a request.
//!
//! | argument | how it is resolved | rejection |
//! |---|---|---|
//! | named like a path parameter `<id>` | [`FromParam`] on the percent-decoded segment | 400 |
//! | named like a declared query parameter `?<q>`, or `#[query]` | [`FromField`]: `T`, `Option<T>`, `Vec<T>` | 400 |
//! | `#[header]` / `#[header("x-name")]` | [`FromField`] on the header's values | 400 |
//! | `#[cookie]` / `#[cookie("name")]` | [`FromField`] on the cookie's value | 400 |
//! | [`Query<T>`], [`State<T>`], [`Context`], [`Cookies`], `HeaderMap`, `Method`, `&Request` | [`FromRequestParts`] | 400 / 500 |
//! | the last argument: [`Json<T>`], [`Form<T>`], `String`, `&str`, `Bytes`, `Vec<u8>`, `&[u8]` | [`FromRequest`] (reads the body) | 400 / 415 |

use std::borrow::Cow;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::request::{Context, Request};
use crate::response::{IntoResponse, Problem, Response, with_content_type};

/// Extracts a value from the request's method, path, query, headers and
/// context. Any number of arguments may use it, in any order.
///
/// ```
/// use lambada::{FromRequestParts, Problem, Request, StatusCode};
///
/// struct ApiKey(String);
///
/// impl<'r> FromRequestParts<'r> for ApiKey {
///     type Rejection = Problem;
///     async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Problem> {
///         req.header("x-api-key")
///             .map(|k| ApiKey(k.to_owned()))
///             .ok_or_else(|| Problem::new(StatusCode::UNAUTHORIZED, "missing x-api-key"))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted from the request's path, query or headers",
    label = "not an extractor",
    note = "path parameters must be named in the route (`<name>`), query parameters declared as `?<name>` or marked `#[query]`, headers `#[header]`, cookies `#[cookie]`",
    note = "a body extractor (`Json<T>`, `Form<T>`, `String`, `Bytes`, `Vec<u8>`) reads the body, so it must be the last argument, and there can be only one"
)]
pub trait FromRequestParts<'r>: Sized {
    /// What the client gets when extraction fails.
    type Rejection: IntoResponse;
    /// Extracts the value.
    fn from_request_parts(
        req: &'r Request<'r>,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

#[doc(hidden)]
pub mod marker {
    /// The extractor reads the body.
    #[derive(Debug)]
    pub enum ViaBody {}
    /// The extractor reads the parts only.
    #[derive(Debug)]
    pub enum ViaParts {}
}

/// Extracts a value from the whole request, body included. Only the last
/// handler argument may use it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted from the request",
    label = "not an extractor",
    note = "the last argument may read the body: `Json<T>`, `Form<T>`, `String`, `&str`, `Bytes`, `Vec<u8>` or `&[u8]`; any other argument must implement `FromRequestParts`"
)]
pub trait FromRequest<'r, M = marker::ViaBody>: Sized {
    /// What the client gets when extraction fails.
    type Rejection: IntoResponse;
    /// Extracts the value.
    fn from_request(
        req: &'r Request<'r>,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send;
}

impl<'r, T: FromRequestParts<'r>> FromRequest<'r, marker::ViaParts> for T {
    type Rejection = T::Rejection;
    fn from_request(
        req: &'r Request<'r>,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        T::from_request_parts(req)
    }
}

/// Parses one path segment (or one query, header or cookie value).
///
/// Implemented for strings, integers, floats, `bool`, `char` and
/// (with the `uuid` feature) `uuid::Uuid`; implement it for your own types:
///
/// ```
/// use lambada::FromParam;
///
/// struct Sku(String);
///
/// impl<'r> FromParam<'r> for Sku {
///     type Error = &'static str;
///     fn from_param(param: &'r str) -> Result<Self, Self::Error> {
///         if param.len() == 8 { Ok(Sku(param.to_owned())) } else { Err("a SKU has 8 characters") }
///     }
/// }
/// assert!(Sku::from_param("ABC-1234").is_ok());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be parsed from a path segment or parameter value",
    label = "does not implement `FromParam`",
    note = "implement `lambada::FromParam` for it, or take a `String` / `&str` and parse it yourself"
)]
pub trait FromParam<'r>: Sized {
    /// Why a value does not parse.
    type Error: std::fmt::Display;
    /// Parses the value.
    fn from_param(param: &'r str) -> Result<Self, Self::Error>;
}

impl<'r> FromParam<'r> for &'r str {
    type Error = std::convert::Infallible;
    fn from_param(param: &'r str) -> Result<Self, Self::Error> {
        Ok(param)
    }
}

impl<'r> FromParam<'r> for String {
    type Error = std::convert::Infallible;
    fn from_param(param: &'r str) -> Result<Self, Self::Error> {
        Ok(param.to_owned())
    }
}

impl<'r> FromParam<'r> for Cow<'r, str> {
    type Error = std::convert::Infallible;
    fn from_param(param: &'r str) -> Result<Self, Self::Error> {
        Ok(Cow::Borrowed(param))
    }
}

macro_rules! from_param_fromstr {
    ($($t:ty),*) => {$(
        impl<'r> FromParam<'r> for $t {
            type Error = <$t as std::str::FromStr>::Err;
            fn from_param(param: &'r str) -> Result<Self, Self::Error> {
                param.parse()
            }
        }
    )*};
}

from_param_fromstr!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    bool,
    char,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::net::IpAddr
);

#[cfg(feature = "uuid")]
from_param_fromstr!(uuid::Uuid);

/// Where a named value ([`FromField`]) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A path parameter.
    Path,
    /// A query parameter.
    Query,
    /// A header.
    Header,
    /// A cookie.
    Cookie,
}

impl FieldKind {
    fn noun(self) -> &'static str {
        match self {
            FieldKind::Path => "path parameter",
            FieldKind::Query => "query parameter",
            FieldKind::Header => "header",
            FieldKind::Cookie => "cookie",
        }
    }
}

/// Builds a handler argument from the values of a named query parameter,
/// header or cookie: `T` (required), `Option<T>` (may be absent) or
/// `Vec<T>` (every value), for any `T: FromParam`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from a query parameter, header or cookie",
    note = "use a type implementing `FromParam` (strings, numbers, bool, ...), `Option` of one, or `Vec` of one"
)]
pub trait FromField<'r>: Sized {
    /// Builds the value; `values` are every value under `name`, in order.
    fn from_field<I: Iterator<Item = &'r str>>(
        kind: FieldKind,
        name: &str,
        values: I,
    ) -> Result<Self, Problem>;
}

fn bad_value(kind: FieldKind, name: &str, value: &str, err: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        format!("{} `{name}`: cannot parse `{value}`: {err}", kind.noun()),
    )
}

impl<'r, T: FromParam<'r>> FromField<'r> for T {
    fn from_field<I: Iterator<Item = &'r str>>(
        kind: FieldKind,
        name: &str,
        mut values: I,
    ) -> Result<Self, Problem> {
        let v = values.next().ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                format!("missing {} `{name}`", kind.noun()),
            )
        })?;
        T::from_param(v).map_err(|e| bad_value(kind, name, v, e))
    }
}

impl<'r, T: FromParam<'r>> FromField<'r> for Option<T> {
    fn from_field<I: Iterator<Item = &'r str>>(
        kind: FieldKind,
        name: &str,
        mut values: I,
    ) -> Result<Self, Problem> {
        match values.next() {
            None => Ok(None),
            Some(v) => T::from_param(v)
                .map(Some)
                .map_err(|e| bad_value(kind, name, v, e)),
        }
    }
}

impl<'r, T: FromParam<'r>> FromField<'r> for Vec<T> {
    fn from_field<I: Iterator<Item = &'r str>>(
        kind: FieldKind,
        name: &str,
        values: I,
    ) -> Result<Self, Problem> {
        values
            .map(|v| T::from_param(v).map_err(|e| bad_value(kind, name, v, e)))
            .collect()
    }
}

/// Shared state, built once per cold start and given to the route table with
/// [`Routes::with_state`](crate::Routes::with_state).
///
/// ```
/// use lambada::prelude::*;
///
/// struct Greeting {
///     text: &'static str,
/// }
///
/// #[get("/")]
/// async fn index(greeting: State<Greeting>) -> &'static str {
///     greeting.text // `State<T>` derefs to `T`
/// }
///
/// let app = routes![index].with_state(Greeting { text: "hi" });
/// ```
#[derive(Debug)]
pub struct State<T>(pub Arc<T>);

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(self.0.clone())
    }
}

impl<T> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<'r, T: Send + Sync + 'static> FromRequestParts<'r> for State<T> {
    type Rejection = Problem;
    async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Problem> {
        req.states().get::<T>().map(State).ok_or_else(|| {
            tracing::error!(state = std::any::type_name::<T>(), "state not configured");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "")
        })
    }
}

/// The whole query string, deserialized into `T` (with `serde_html_form`:
/// repeated keys fill `Vec` fields).
///
/// ```
/// use lambada::prelude::*;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Page { page: u32, per_page: Option<u32> }
///
/// #[get("/items")]
/// async fn items(Query(p): Query<Page>) -> String {
///     format!("page {} of {}", p.page, p.per_page.unwrap_or(20))
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<'r, T: DeserializeOwned + Send> FromRequestParts<'r> for Query<T> {
    type Rejection = Problem;
    async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Problem> {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in req.query_pairs() {
            s.append_pair(k, v);
        }
        serde_html_form::from_str(&s.finish())
            .map(Query)
            .map_err(|e| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!("invalid query string: {e}"),
                )
            })
    }
}

impl<'r> FromRequestParts<'r> for Context<'r> {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        Ok(req.context().clone())
    }
}

impl<'r> FromRequestParts<'r> for &'r Context<'r> {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        Ok(req.context())
    }
}

impl<'r> FromRequestParts<'r> for &'r Request<'r> {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        Ok(req)
    }
}

impl<'r> FromRequestParts<'r> for http::Method {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        Ok(req.method().clone())
    }
}

impl<'r> FromRequestParts<'r> for HeaderMap {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        let mut map = HeaderMap::with_capacity(req.headers.len());
        for (k, v) in req.headers() {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                map.append(k, v);
            }
        }
        Ok(map)
    }
}

impl<'r, T: FromRequestParts<'r> + Send> FromRequestParts<'r> for Option<T> {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        Ok(T::from_request_parts(req).await.ok())
    }
}

/// The cookies sent with the request.
#[derive(Debug, Clone, Copy)]
pub struct Cookies<'r>(&'r Request<'r>);

impl<'r> Cookies<'r> {
    /// A cookie's value.
    pub fn get(&self, name: &str) -> Option<&'r str> {
        self.0.cookie(name)
    }
    /// Every cookie.
    pub fn iter(&self) -> impl Iterator<Item = (&'r str, &'r str)> {
        self.0.cookies()
    }
}

impl<'r> FromRequestParts<'r> for Cookies<'r> {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        Ok(Cookies(req))
    }
}

/// The raw Lambda event, for anything the typed extractors do not cover.
///
/// ```
/// use lambada::prelude::*;
///
/// #[get("/raw")]
/// async fn raw(event: RawEvent<'_>) -> String {
///     let v: serde_json::Value = event.parse().unwrap_or_default();
///     v["requestContext"]["accountId"].to_string()
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'r>(pub &'r [u8]);

impl RawEvent<'_> {
    /// Deserializes the event (for example into an `aws_lambda_events` type).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(self.0)
    }
}

impl<'r> FromRequestParts<'r> for RawEvent<'r> {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        Ok(RawEvent(req.context().raw_event))
    }
}

fn media_type_is(
    req: &Request<'_>,
    accept: impl Fn(&str) -> bool,
    expected: &str,
) -> Result<(), Problem> {
    match req.content_type() {
        Some(ct) if accept(&ct.to_ascii_lowercase()) => Ok(()),
        other => Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "expected `Content-Type: {expected}`, got {}",
                other.map_or("none".to_owned(), |c| format!("`{c}`"))
            ),
        )),
    }
}

/// A JSON body (`Content-Type: application/json` or `*/*+json`), or a JSON
/// response.
///
/// ```
/// use lambada::prelude::*;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize)]
/// struct Item { sku: String }
///
/// #[post("/items")]
/// async fn create(Json(item): Json<Item>) -> (StatusCode, Json<Item>) {
///     (StatusCode::CREATED, Json(item))
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<'r, T: Deserialize<'r> + Send> FromRequest<'r> for Json<T> {
    type Rejection = Problem;
    async fn from_request(req: &'r Request<'r>) -> Result<Self, Problem> {
        media_type_is(
            req,
            |c| c == "application/json" || c.ends_with("+json"),
            "application/json",
        )?;
        let e = match serde_json::from_slice(req.body()) {
            Ok(v) => return Ok(Json(v)),
            Err(e) => e,
        };
        // A JSON number with no fraction is an integer to JSON Schema (and
        // so to every client generated from the OpenAPI document), `1.0`
        // as much as `1`; serde wants `1` for integer fields. On this
        // error path only, such numbers are taken as the integers they are.
        if e.is_data()
            && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(req.body())
            && integral_floats_as_integers(&mut v)
            && let Ok(t) = T::deserialize(v)
        {
            return Ok(Json(t));
        }
        let status = if e.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        Err(Problem::new(status, format!("invalid JSON body: {e}")))
    }
}

/// Rewrites numbers such as `2.0` (a float with no fraction, within the
/// integers' range) as the integers they are; whether any was.
fn integral_floats_as_integers(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() != 0.0 || !f.is_finite() {
                return false;
            }
            // Within the integers' range: [-2^63, 2^64).
            if (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                *v = Value::from(f as u64);
                true
            } else if (-9.223_372_036_854_776e18..0.0).contains(&f) {
                *v = Value::from(f as i64);
                true
            } else {
                false
            }
        }
        // Every element is rewritten (no short circuit).
        Value::Array(a) => a
            .iter_mut()
            .map(integral_floats_as_integers)
            .fold(false, |c, x| c | x),
        Value::Object(o) => o
            .values_mut()
            .map(integral_floats_as_integers)
            .fold(false, |c, x| c | x),
        _ => false,
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => with_content_type(body, "application/json"),
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize the JSON response");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "").into_response()
            }
        }
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A form body (`application/x-www-form-urlencoded`), as HTML forms and Slack send.
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

impl<'r, T: Deserialize<'r> + Send> FromRequest<'r> for Form<T> {
    type Rejection = Problem;
    async fn from_request(req: &'r Request<'r>) -> Result<Self, Problem> {
        media_type_is(
            req,
            |c| c == "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded",
        )?;
        serde_html_form::from_bytes(req.body())
            .map(Form)
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, format!("invalid form body: {e}")))
    }
}

impl<T> Deref for Form<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn utf8<'r>(req: &'r Request<'_>) -> Result<&'r str, Problem> {
    std::str::from_utf8(req.body()).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not UTF-8: {e}"),
        )
    })
}

impl<'r> FromRequest<'r> for String {
    type Rejection = Problem;
    async fn from_request(req: &'r Request<'r>) -> Result<Self, Problem> {
        utf8(req).map(str::to_owned)
    }
}

impl<'r> FromRequest<'r> for &'r str {
    type Rejection = Problem;
    async fn from_request(req: &'r Request<'r>) -> Result<Self, Problem> {
        utf8(req)
    }
}

impl<'r> FromRequest<'r> for &'r [u8] {
    type Rejection = std::convert::Infallible;
    async fn from_request(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        Ok(req.body())
    }
}

impl<'r> FromRequest<'r> for Vec<u8> {
    type Rejection = std::convert::Infallible;
    async fn from_request(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        Ok(req.body().to_vec())
    }
}

impl<'r> FromRequest<'r> for Bytes {
    type Rejection = std::convert::Infallible;
    async fn from_request(req: &'r Request<'r>) -> Result<Self, Self::Rejection> {
        Ok(Bytes::copy_from_slice(req.body()))
    }
}

impl IntoResponse for std::convert::Infallible {
    fn into_response(self) -> Response {
        match self {}
    }
}
