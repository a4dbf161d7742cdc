//! Cross-origin resource sharing, per the Fetch standard's CORS protocol.
//!
//! One [`Cors`] setting serves the whole route table: preflight `OPTIONS`
//! requests are answered for every routed path without a handler, and every
//! response to an allowed origin carries the `Access-Control-Allow-*`
//! headers, problem responses and panics included (a browser can read a 401
//! or a 500 instead of reporting an opaque network error).
//!
//! ```
//! use lambada::{Cors, prelude::*};
//!
//! #[get("/items/<id>")]
//! async fn item(id: u32) -> String { id.to_string() }
//!
//! let routes = routes![item].cors(
//!     Cors::new()
//!         .allow_origin("https://app.example.com")
//!         .allow_headers(["x-client"])
//!         .expose_headers(["etag"])
//!         .allow_credentials(true)
//!         .max_age(600),
//! );
//! assert!(routes.check().is_ok());
//! ```
//!
//! The same settings come from configuration: `[package.metadata.lambada.cors]`
//! (or `[cors]` in `Lambada.toml`, or `LAMBADA_CORS` as JSON) replaces the
//! code's; `cargo lambada` hands the result to the function as the
//! `LAMBADA_CORS` environment variable, which the runtime reads at cold start.

use std::collections::BTreeMap;

use http::StatusCode;
use http::header::{self, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::method::Method;
use crate::response::{IntoResponse, Problem, Response};

/// The request headers allowed when none are configured: the ones API
/// Gateway clients send (Chalice's `CORSConfig` defaults).
pub const DEFAULT_ALLOW_HEADERS: [&str; 5] = [
    "authorization",
    "content-type",
    "x-amz-date",
    "x-amz-security-token",
    "x-api-key",
];

/// CORS settings of a route table (see the [module docs](self)).
///
/// Field by field, as in configuration files:
///
/// | key | default | what |
/// |---|---|---|
/// | `origins` | (required) | allowed origins: `https://app.example.com`, `https://*.example.com` (any subdomain), or `*` |
/// | `methods` | the path's own methods | methods a preflight may ask for |
/// | `headers` | [`DEFAULT_ALLOW_HEADERS`] | request headers a preflight may ask for; `*` allows any |
/// | `expose_headers` | none | response headers a script may read beyond the safelisted ones |
/// | `credentials` | `false` | cookies and `Authorization` with the request (`Access-Control-Allow-Credentials`) |
/// | `max_age` | none | seconds a browser may cache a preflight |
/// | `routes` | none | per-route settings by handler name: `false` (no CORS for that route) or a table of these keys (see [`RouteCors`]) |
///
/// A route's own setting (`cors = …` on its attribute, or `routes.HANDLER`
/// here) replaces the table's for that route; settings with only `routes`
/// (no `origins`) give CORS to those routes alone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cors {
    /// Allowed origins.
    #[serde(default)]
    pub origins: Vec<String>,
    /// Methods a preflight may ask for (empty: the path's methods).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Request headers a preflight may ask for (`None`: the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<String>>,
    /// Response headers exposed to scripts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    /// Whether credentialed requests are allowed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub credentials: bool,
    /// Preflight cache lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
    /// Routes with settings of their own, by handler name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<String, RouteCors>,
}

/// A route's own CORS setting, replacing the table's for it: `cors = false`
/// or `cors = settings_fn` on the route attribute, `HANDLER = false` or
/// `[….cors.routes.HANDLER]` in configuration.
///
/// ```
/// use lambada::cors::{Cors, RouteCors};
///
/// let c: Cors = serde_json::from_str(
///     r#"{"origins": ["https://app.example.com"],
///         "routes": {"feed": {"origins": ["*"]}, "admin": false}}"#,
/// ).unwrap();
/// assert_eq!(c.routes["admin"], RouteCors::Off);
/// assert_eq!(c.routes["feed"], RouteCors::Own(Box::new(Cors::any_origin())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteCors {
    /// No CORS for this route: no headers, preflights for it refused.
    Off,
    /// These settings instead of the table's.
    Own(Box<Cors>),
}

impl Serialize for RouteCors {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RouteCors::Off => s.serialize_bool(false),
            RouteCors::Own(c) => c.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RouteCors {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RouteCors, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Flag(bool),
            Own(Box<Cors>),
        }
        match Repr::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "a route's CORS setting is `false` (none for this route) or a table of CORS settings (`origins`, `methods`, `headers`, `expose_headers`, `credentials`, `max_age`)",
            )
        })? {
            Repr::Flag(false) => Ok(RouteCors::Off),
            Repr::Flag(true) => Err(serde::de::Error::custom(
                "a route's CORS setting `true` says nothing: leave the route out to use the table's settings, write `false` for none, or give it settings of its own",
            )),
            Repr::Own(c) => Ok(RouteCors::Own(c)),
        }
    }
}

impl Cors {
    /// No origin allowed yet: add some with [`allow_origin`](Cors::allow_origin).
    pub fn new() -> Cors {
        Cors::default()
    }

    /// Any origin (`*`), for public APIs without credentials.
    pub fn any_origin() -> Cors {
        Cors::new().allow_origin("*")
    }

    /// Allows an origin (`https://app.example.com`, `https://*.example.com`, `*`).
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Cors {
        self.origins.push(origin.into());
        self
    }

    /// Allows several origins.
    pub fn allow_origins<S: Into<String>>(mut self, origins: impl IntoIterator<Item = S>) -> Cors {
        self.origins.extend(origins.into_iter().map(Into::into));
        self
    }

    /// Restricts the methods a preflight may ask for (default: the path's).
    pub fn allow_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Cors {
        self.methods
            .extend(methods.into_iter().map(|m| m.as_str().to_owned()));
        self
    }

    /// Allows these request headers in addition to [`DEFAULT_ALLOW_HEADERS`]
    /// (`"*"` allows any).
    pub fn allow_headers<S: Into<String>>(mut self, headers: impl IntoIterator<Item = S>) -> Cors {
        let list = self
            .headers
            .get_or_insert_with(|| DEFAULT_ALLOW_HEADERS.map(String::from).to_vec());
        list.extend(headers.into_iter().map(Into::into));
        self
    }

    /// Lets scripts read these response headers.
    pub fn expose_headers<S: Into<String>>(mut self, headers: impl IntoIterator<Item = S>) -> Cors {
        self.expose_headers
            .extend(headers.into_iter().map(Into::into));
        self
    }

    /// Allows credentialed requests (cookies, `Authorization`). The origin is
    /// then always echoed, never `*`, as the Fetch standard requires.
    pub fn allow_credentials(mut self, yes: bool) -> Cors {
        self.credentials = yes;
        self
    }

    /// How long a browser may cache a preflight answer, in seconds.
    pub fn max_age(mut self, seconds: u32) -> Cors {
        self.max_age = Some(seconds);
        self
    }

    /// Checks the settings and prepares them for serving.
    ///
    /// ```
    /// use lambada::Cors;
    ///
    /// let err = Cors::new().allow_origin("https://app.example.com/").compile().unwrap_err();
    /// assert!(err.contains("no path"), "{err}");
    /// assert!(Cors::new().compile().unwrap_err().contains("no origin"));
    /// ```
    pub fn compile(&self) -> Result<CorsPolicy, String> {
        if !self.routes.is_empty() {
            return Err("CORS: `routes` go in the table's settings, not in a route's".into());
        }
        if self.origins.is_empty() {
            return Err("CORS: no origin is allowed: set `origins`".into());
        }
        let mut origins = Vec::new();
        let mut any = false;
        for o in &self.origins {
            if o == "*" {
                any = true;
                continue;
            }
            origins.push(parse_origin(o)?);
        }
        let mut methods = Vec::new();
        for m in &self.methods {
            let up = m.to_ascii_uppercase();
            let method = Method::ALL
                .into_iter()
                .find(|x| x.as_str() == up)
                .ok_or_else(|| format!("CORS: `{m}` is not a method routes can have"))?;
            methods.push(method);
        }
        let mut any_header = false;
        let mut headers = Vec::new();
        let configured: Vec<String> = match &self.headers {
            Some(h) => h.clone(),
            None => DEFAULT_ALLOW_HEADERS.map(String::from).to_vec(),
        };
        for h in &configured {
            if h == "*" {
                any_header = true;
                continue;
            }
            headers.push(header_name(h)?);
        }
        headers.dedup();
        let expose = self
            .expose_headers
            .iter()
            .map(|h| header_name(h))
            .collect::<Result<Vec<_>, _>>()?;
        let joined = |v: &[HeaderName]| {
            (!v.is_empty()).then(|| {
                let s = v.iter().map(HeaderName::as_str).collect::<Vec<_>>();
                HeaderValue::from_str(&s.join(", ")).expect("header names are valid values")
            })
        };
        Ok(CorsPolicy {
            any_origin: any,
            origins,
            methods,
            any_header,
            allow_headers_value: joined(&headers),
            headers,
            expose_value: joined(&expose),
            credentials: self.credentials,
            max_age: self.max_age.map(HeaderValue::from),
        })
    }
}

impl Cors {
    /// `config` over `code`: configuration's table settings replace the
    /// code's (unless it has only `routes`), and its routes replace the
    /// code's route by route. What the runtime does with `LAMBADA_CORS` at
    /// cold start and what `cargo lambada` deploys and serves.
    ///
    /// ```
    /// use lambada::cors::{Cors, RouteCors};
    ///
    /// let mut code = Cors::new().allow_origin("https://app.example.com");
    /// code.routes.insert("feed".into(), RouteCors::Own(Box::new(Cors::any_origin())));
    /// let mut config = Cors::default();
    /// config.routes.insert("admin".into(), RouteCors::Off);
    /// let c = Cors::overlay(Some(&code), Some(&config)).unwrap();
    /// assert_eq!(c.origins, ["https://app.example.com"]);
    /// assert_eq!(c.routes.len(), 2);
    /// ```
    pub fn overlay(code: Option<&Cors>, config: Option<&Cors>) -> Option<Cors> {
        let Some(config) = config else {
            return code.cloned();
        };
        let mut out = match code {
            Some(code) if config.origins.is_empty() => Cors {
                routes: BTreeMap::new(),
                ..code.clone()
            },
            _ => Cors {
                routes: BTreeMap::new(),
                ..config.clone()
            },
        };
        out.routes = code.map(|c| c.routes.clone()).unwrap_or_default();
        out.routes
            .extend(config.routes.iter().map(|(k, v)| (k.clone(), v.clone())));
        Some(out)
    }

    /// The table's own policy: `None` when the settings name routes only.
    pub fn table_policy(&self) -> Result<Option<CorsPolicy>, String> {
        if self.origins.is_empty() && !self.routes.is_empty() {
            return Ok(None);
        }
        Cors {
            routes: BTreeMap::new(),
            ..self.clone()
        }
        .compile()
        .map(Some)
    }

    /// Checks every setting: the table's and each route's.
    pub fn validate(&self) -> Result<(), String> {
        self.table_policy()?;
        for (name, setting) in &self.routes {
            if let RouteCors::Own(c) = setting {
                c.compile()
                    .map_err(|e| format!("{e} (in `routes.{name}`)"))?;
            }
        }
        Ok(())
    }

    /// [`validate`](Cors::validate)s, and checks that every route named
    /// is among `handlers`.
    pub fn check<'a>(&self, handlers: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
        self.validate()?;
        let handlers: Vec<&str> = handlers.into_iter().collect();
        match self
            .routes
            .keys()
            .find(|name| !handlers.contains(&name.as_str()))
        {
            Some(name) => Err(format!(
                "CORS: `routes.{name}` names no route's handler (the handlers are: {})",
                handlers.join(", ")
            )),
            None => Ok(()),
        }
    }

    /// Whether requests to `handler`'s route get CORS answers (its own
    /// settings, or the table's when it has none of its own).
    pub fn covers(&self, handler: &str) -> bool {
        match self.routes.get(handler) {
            Some(RouteCors::Off) => false,
            Some(RouteCors::Own(_)) => true,
            None => !self.origins.is_empty(),
        }
    }

    /// The policy answering for `handler`: its own, none (`Off`), or the
    /// table's.
    pub fn policy_for(&self, handler: &str) -> Result<Option<CorsPolicy>, String> {
        match self.routes.get(handler) {
            Some(RouteCors::Off) => Ok(None),
            Some(RouteCors::Own(c)) => c.compile().map(Some),
            None => self.table_policy(),
        }
    }
}

/// An allowed origin: exact, or any subdomain of a host.
#[derive(Debug, Clone)]
enum OriginRule {
    Exact(String),
    /// `https://*.example.com`: scheme and `.example.com[:port]`.
    Subdomains {
        scheme: String,
        suffix: String,
    },
}

fn parse_origin(o: &str) -> Result<OriginRule, String> {
    let bad = |why: &str| format!("CORS: origin `{o}` {why}");
    let (scheme, rest) = o
        .split_once("://")
        .ok_or_else(|| bad("needs a scheme (`https://host`)"))?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return Err(bad("has no valid scheme"));
    }
    if rest.is_empty() {
        return Err(bad("has no host"));
    }
    if rest.contains('/') || rest.contains('?') || rest.contains('#') {
        return Err(bad(
            "has a path: an origin is scheme://host[:port] with no path, not even a trailing `/`",
        ));
    }
    let lower = o.to_ascii_lowercase();
    match rest.strip_prefix("*.") {
        Some(host) if !host.is_empty() && !host.contains('*') => Ok(OriginRule::Subdomains {
            scheme: scheme.to_ascii_lowercase(),
            suffix: format!(".{}", host.to_ascii_lowercase()),
        }),
        _ if rest.contains('*') => Err(bad(
            "has a `*` that is not a leading `*.` subdomain wildcard",
        )),
        _ => Ok(OriginRule::Exact(lower)),
    }
}

fn header_name(h: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(h.trim().as_bytes())
        .map_err(|_| format!("CORS: `{h}` is not a header name"))
}

/// What a browser can send before a wildcard's `.example.com`: one or more
/// DNS labels (letters, digits, `-`; international names in their `xn--`
/// form), as the serialized origin of RFC 6454 spells a host.
fn is_subdomain(sub: &str) -> bool {
    sub.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// Checked CORS settings, ready to answer requests ([`Cors::compile`]).
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    any_origin: bool,
    origins: Vec<OriginRule>,
    methods: Vec<Method>,
    any_header: bool,
    headers: Vec<HeaderName>,
    allow_headers_value: Option<HeaderValue>,
    expose_value: Option<HeaderValue>,
    credentials: bool,
    max_age: Option<HeaderValue>,
}

/// `Vary` on responses whose CORS headers depend on the request's origin.
const VARY_ORIGIN: HeaderValue = HeaderValue::from_static("origin");
const VARY_PREFLIGHT: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

impl CorsPolicy {
    /// Whether responses are the same for every origin (`*` without
    /// credentials), so caches need no `Vary: Origin`.
    fn origin_independent(&self) -> bool {
        self.any_origin && !self.credentials
    }

    fn allows(&self, origin: &str) -> bool {
        if self.any_origin {
            return true;
        }
        self.origins.iter().any(|rule| match rule {
            OriginRule::Exact(o) => o.eq_ignore_ascii_case(origin),
            OriginRule::Subdomains { scheme, suffix } => {
                let lower = origin.to_ascii_lowercase();
                lower
                    .strip_prefix(scheme.as_str())
                    .and_then(|r| r.strip_prefix("://"))
                    .and_then(|host| host.strip_suffix(suffix.as_str()))
                    .is_some_and(is_subdomain)
            }
        })
    }

    /// `Access-Control-Allow-Origin` for an allowed origin.
    fn allow_origin_value(&self, origin: &str) -> Option<HeaderValue> {
        if self.origin_independent() {
            Some(HeaderValue::from_static("*"))
        } else {
            HeaderValue::from_str(origin).ok()
        }
    }

    /// Answers a preflight for a path served by `path_methods`.
    pub(crate) fn preflight(
        &self,
        origin: &str,
        request_method: &str,
        request_headers: Option<&str>,
        path_methods: &[Method],
    ) -> Response {
        let reject = |detail: String| {
            let mut res = Problem::new(StatusCode::FORBIDDEN, detail).into_response();
            res.headers_mut().insert(header::VARY, VARY_PREFLIGHT);
            res
        };
        if !self.allows(origin) {
            return reject(format!("CORS: origin {origin} is not allowed"));
        }
        let allowed: Vec<Method> = if self.methods.is_empty() {
            let mut m = path_methods.to_vec();
            if m.contains(&Method::Get) && !m.contains(&Method::Head) {
                m.push(Method::Head);
            }
            m.sort();
            m.dedup();
            m
        } else {
            self.methods.clone()
        };
        let request_method = request_method.trim();
        if !allowed.iter().any(|m| m.as_str() == request_method) {
            return reject(format!(
                "CORS: method {request_method} is not allowed here (allowed: {})",
                allowed
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let requested: Vec<&str> = request_headers
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        if !self.any_header
            && let Some(h) = requested.iter().find(|h| {
                !self
                    .headers
                    .iter()
                    .any(|a| a.as_str().eq_ignore_ascii_case(h))
            })
        {
            return reject(format!("CORS: request header `{h}` is not allowed"));
        }
        let mut res = ().into_response();
        let h = res.headers_mut();
        if let Some(v) = self.allow_origin_value(origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        let methods = allowed
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(v) = HeaderValue::from_str(&methods) {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        // With `*` configured, echo what was asked for: a literal `*` means
        // "any" only for requests without credentials.
        let allow_headers = if self.any_header {
            (!requested.is_empty())
                .then(|| HeaderValue::from_str(&requested.join(", ")).ok())
                .flatten()
        } else {
            self.allow_headers_value.clone()
        };
        if let Some(v) = allow_headers {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = &self.max_age {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, v.clone());
        }
        h.insert(header::VARY, VARY_PREFLIGHT);
        res
    }

    /// Adds the CORS headers to an actual (non-preflight) response.
    pub(crate) fn decorate(&self, origin: Option<&str>, res: &mut Response) {
        self.apply(origin, res.headers_mut());
    }

    /// Adds the CORS headers of an actual (non-preflight) response from
    /// `origin` to `h`: what the runtime adds to every answer, and what
    /// `cargo lambada serve` adds to the gateway's own (an authorizer's
    /// 401, a 413). A header map that already has
    /// `Access-Control-Allow-Origin` keeps it.
    ///
    /// ```
    /// let policy = lambada::Cors::new()
    ///     .allow_origin("https://app.example.com")
    ///     .compile()
    ///     .unwrap();
    /// let mut h = lambada::HeaderMap::new();
    /// policy.apply(Some("https://app.example.com"), &mut h);
    /// assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    /// assert_eq!(h["vary"], "origin");
    /// ```
    pub fn apply(&self, origin: Option<&str>, h: &mut http::HeaderMap) {
        if !self.origin_independent() {
            h.append(header::VARY, VARY_ORIGIN);
        }
        let Some(origin) = origin.filter(|o| self.allows(o)) else {
            return;
        };
        if h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
            return; // the handler answered CORS itself
        }
        if let Some(v) = self.allow_origin_value(origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = &self.expose_value {
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(c: Cors) -> CorsPolicy {
        c.compile().unwrap()
    }

    #[test]
    fn origins_are_checked() {
        for (bad, why) in [
            ("app.example.com", "scheme"),
            ("https://app.example.com/", "path"),
            ("https://", "host"),
            ("https://a*.example.com", "wildcard"),
        ] {
            let e = Cors::new().allow_origin(bad).compile().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(Cors::new().allow_methods([]).compile().is_err());
        let e = Cors {
            origins: vec!["*".into()],
            methods: vec!["FETCH".into()],
            ..Cors::default()
        }
        .compile()
        .unwrap_err();
        assert!(e.contains("FETCH"), "{e}");
    }

    #[test]
    fn subdomain_wildcards() {
        let p = policy(Cors::new().allow_origin("https://*.example.com"));
        assert!(p.allows("https://app.example.com"));
        assert!(p.allows("https://A.B.Example.com"));
        assert!(!p.allows("https://example.com"));
        assert!(!p.allows("http://app.example.com"));
        assert!(!p.allows("https://app.example.com.evil.net"));
        assert!(!p.allows("https://evilexample.com"));
    }

    #[test]
    fn credentials_never_answer_star() {
        let p = policy(Cors::any_origin().allow_credentials(true));
        let res = p.preflight("https://x.test", "PUT", Some("X-Thing"), &[Method::Put]);
        assert_eq!(res.status(), 403, "x-thing is not a default header");
        let p = policy(
            Cors::any_origin()
                .allow_credentials(true)
                .allow_headers(["*"]),
        );
        let res = p.preflight(
            "https://x.test",
            "PUT",
            Some("X-Thing, content-type"),
            &[Method::Put],
        );
        assert_eq!(res.status(), 204);
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], "https://x.test");
        assert_eq!(h["access-control-allow-headers"], "X-Thing, content-type");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert_eq!(h["access-control-allow-methods"], "PUT");
    }

    #[test]
    fn star_without_credentials_does_not_vary() {
        let p = policy(Cors::any_origin());
        let mut res = "x".into_response();
        p.decorate(Some("https://x.test"), &mut res);
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        assert!(res.headers().get("vary").is_none());
        let p = policy(Cors::new().allow_origin("https://x.test"));
        let mut res = "x".into_response();
        p.decorate(Some("https://y.test"), &mut res);
        assert!(res.headers().get("access-control-allow-origin").is_none());
        assert_eq!(res.headers()["vary"], "origin");
    }
}
