//! Turning handler return values into HTTP responses.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

/// The response type every handler result converts into.
pub type Response = http::Response<Body>;

/// A response body: the whole payload, as Lambda returns it.
pub type Body = Bytes;

/// Anything a handler can return.
///
/// Implemented for text (`String`, `&'static str`), bytes, [`Json`](crate::Json),
/// [`Redirect`], [`Problem`], `()` (204 No Content), `(StatusCode, T)`,
/// `(StatusCode, HeaderMap, T)`, `(HeaderMap, T)`, [`Response`] and
/// `Result<T, E>` where both sides convert.
///
/// ```
/// use lambada::{IntoResponse, StatusCode};
///
/// let res = (StatusCode::CREATED, "made it").into_response();
/// assert_eq!(res.status(), 201);
/// assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
/// assert_eq!(().into_response().status(), 204);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a Lambada handler",
    label = "this return type does not implement `IntoResponse`",
    note = "return `String`, `&'static str`, `Json<T>`, `(StatusCode, T)`, `Redirect`, `()`, `Response` or `Result<T, E>` of those, or implement `lambada::IntoResponse`"
)]
pub trait IntoResponse {
    /// Whether answers of this type stream their body (see
    /// [`crate::stream`]): a route returning it is deployed as a streaming
    /// route.
    const STREAMS: bool = false;

    /// Builds the response.
    fn into_response(self) -> Response;
}

pub(crate) fn with_content_type(body: impl Into<Body>, content_type: &'static str) -> Response {
    let mut res = Response::new(body.into());
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

const TEXT: &str = "text/plain; charset=utf-8";

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::new());
        *res.status_mut() = StatusCode::NO_CONTENT;
        res
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        with_content_type(self, TEXT)
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        with_content_type(self, TEXT)
    }
}

impl IntoResponse for Cow<'static, str> {
    fn into_response(self) -> Response {
        match self {
            Cow::Borrowed(s) => s.into_response(),
            Cow::Owned(s) => s.into_response(),
        }
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        with_content_type(self, "application/octet-stream")
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        with_content_type(self, "application/octet-stream")
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::new());
        *res.status_mut() = self;
        res
    }
}

impl IntoResponse for HeaderMap {
    fn into_response(self) -> Response {
        let mut res = ().into_response();
        *res.status_mut() = StatusCode::OK;
        *res.headers_mut() = self;
        res
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    const STREAMS: bool = T::STREAMS;

    fn into_response(self) -> Response {
        let mut res = self.1.into_response();
        *res.status_mut() = self.0;
        res
    }
}

impl<T: IntoResponse> IntoResponse for (HeaderMap, T) {
    const STREAMS: bool = T::STREAMS;

    fn into_response(self) -> Response {
        let mut res = self.1.into_response();
        res.headers_mut().extend(self.0);
        res
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, HeaderMap, T) {
    const STREAMS: bool = T::STREAMS;

    fn into_response(self) -> Response {
        let mut res = self.2.into_response();
        *res.status_mut() = self.0;
        res.headers_mut().extend(self.1);
        res
    }
}

impl<T: IntoResponse, const N: usize> IntoResponse for ([(HeaderName, &'static str); N], T) {
    const STREAMS: bool = T::STREAMS;

    fn into_response(self) -> Response {
        let mut res = self.1.into_response();
        for (name, value) in self.0 {
            res.headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        res
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    const STREAMS: bool = T::STREAMS || E::STREAMS;

    fn into_response(self) -> Response {
        match self {
            Ok(v) => v.into_response(),
            Err(e) => e.into_response(),
        }
    }
}

/// An HTML response (`text/html; charset=utf-8`).
#[derive(Debug, Clone)]
pub struct Html<T>(pub T);

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        with_content_type(self.0, "text/html; charset=utf-8")
    }
}

/// A redirect: a status from the 3xx family and a `Location` header.
///
/// ```
/// use lambada::{IntoResponse, Redirect};
///
/// let res = Redirect::found("/new/home").into_response();
/// assert_eq!(res.status(), 302);
/// assert_eq!(res.headers()["location"], "/new/home");
/// ```
#[derive(Debug, Clone)]
pub struct Redirect {
    status: StatusCode,
    location: HeaderValue,
}

impl Redirect {
    fn with(status: StatusCode, location: &str) -> Self {
        let location = HeaderValue::from_str(location).unwrap_or_else(|_| {
            // A Location must be a valid header value: percent-encode the rest.
            let encoded =
                percent_encoding::utf8_percent_encode(location, percent_encoding::CONTROLS)
                    .to_string();
            HeaderValue::from_str(&encoded).unwrap_or(HeaderValue::from_static("/"))
        });
        Redirect { status, location }
    }
    /// 301 Moved Permanently.
    pub fn moved_permanently(location: &str) -> Self {
        Self::with(StatusCode::MOVED_PERMANENTLY, location)
    }
    /// 302 Found.
    pub fn found(location: &str) -> Self {
        Self::with(StatusCode::FOUND, location)
    }
    /// 303 See Other: the usual answer to a form POST.
    pub fn see_other(location: &str) -> Self {
        Self::with(StatusCode::SEE_OTHER, location)
    }
    /// 307 Temporary Redirect (keeps the method and body).
    pub fn temporary(location: &str) -> Self {
        Self::with(StatusCode::TEMPORARY_REDIRECT, location)
    }
    /// 308 Permanent Redirect (keeps the method and body).
    pub fn permanent(location: &str) -> Self {
        Self::with(StatusCode::PERMANENT_REDIRECT, location)
    }
    /// The status this redirect answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The target.
    pub fn location(&self) -> &HeaderValue {
        &self.location
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        res.headers_mut().insert(header::LOCATION, self.location);
        res
    }
}

/// An RFC 9457 problem document (`application/problem+json`): how Lambada
/// reports every error it produces itself (bad input, no route, panics).
///
/// ```
/// use lambada::{IntoResponse, Problem, StatusCode};
///
/// let res = Problem::new(StatusCode::CONFLICT, "code `abc` is taken").into_response();
/// assert_eq!(res.status(), 409);
/// assert_eq!(res.headers()["content-type"], "application/problem+json");
/// let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
/// assert_eq!(body["title"], "Conflict");
/// assert_eq!(body["detail"], "code `abc` is taken");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The HTTP status.
    #[serde(serialize_with = "ser_status")]
    pub status: StatusCode,
    /// A short, human-readable summary (defaults to the status's reason).
    pub title: Cow<'static, str>,
    /// What happened, for this occurrence.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub detail: String,
    /// Extra headers (for example `Allow` on a 405).
    #[serde(skip)]
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

fn ser_status<S: serde::Serializer>(s: &StatusCode, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_u16(s.as_u16())
}

impl Problem {
    /// A problem with the status's standard title.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem {
            status,
            title: Cow::Borrowed(status.canonical_reason().unwrap_or("Error")),
            detail: detail.into(),
            headers: Vec::new(),
        }
    }
    /// Replaces the title.
    pub fn title(mut self, title: impl Into<Cow<'static, str>>) -> Self {
        self.title = title.into();
        self
    }
    /// Adds a header to the response.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.detail)
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = with_content_type(body, "application/problem+json");
        *res.status_mut() = self.status;
        for (name, value) in self.headers {
            res.headers_mut().append(name, value);
        }
        res
    }
}

/// A typed error that maps to an HTTP status: implement it (or derive it
/// with [`#[derive(HttpError)]`](crate::HttpError)) and return
/// `Result<T, YourError>` from handlers. The response is a [`Problem`] with
/// the error's `Display` text as its detail.
///
/// ```
/// use lambada::{HttpError, IntoResponse, StatusCode};
///
/// #[derive(Debug, HttpError)]
/// enum LinkError {
///     #[status(NOT_FOUND)]
///     Unknown,
///     #[status(409)]
///     Taken(String),
/// }
///
/// impl std::fmt::Display for LinkError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         match self {
///             LinkError::Unknown => f.write_str("no such link"),
///             LinkError::Taken(c) => write!(f, "`{c}` is taken"),
///         }
///     }
/// }
///
/// assert_eq!(LinkError::Unknown.into_response().status(), 404);
/// assert_eq!(LinkError::Taken("x".into()).status(), StatusCode::CONFLICT);
/// ```
pub trait HttpError: fmt::Display {
    /// The status this error answers with.
    fn status(&self) -> StatusCode;
    /// The response: a problem document by default.
    fn to_response(&self) -> Response {
        let status = self.status();
        let detail = if status.is_server_error() {
            // Do not leak internals: log them, answer with the reason only.
            tracing::error!(error = %self, "handler error");
            String::new()
        } else {
            self.to_string()
        };
        Problem::new(status, detail).into_response()
    }
}

/// Convenience error for handlers: any error becomes a 500 (logged, not leaked),
/// and a [`Problem`] keeps its status.
///
/// ```
/// use lambada::{ApiError, Problem, StatusCode};
///
/// fn parse(n: &str) -> Result<u32, ApiError> {
///     if n.is_empty() {
///         return Err(Problem::new(StatusCode::BAD_REQUEST, "empty").into());
///     }
///     Ok(n.parse::<u32>()?)
/// }
/// assert!(parse("x").is_err());
/// ```
#[derive(Debug)]
pub struct ApiError(ApiErrorInner);

#[derive(Debug)]
enum ApiErrorInner {
    Problem(Problem),
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ApiError {
    fn from(e: E) -> Self {
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
        match boxed.downcast::<Problem>() {
            Ok(p) => ApiError(ApiErrorInner::Problem(*p)),
            Err(other) => ApiError(ApiErrorInner::Other(other)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.0 {
            ApiErrorInner::Problem(p) => p.into_response(),
            ApiErrorInner::Other(e) => {
                tracing::error!(error = %e, "handler error");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "").into_response()
            }
        }
    }
}
