//! The OpenAPI description of routes: the document's pieces and the
//! probes the route attributes call (public as [`crate::openapi`]).

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde_json::{Map, Value, json};

/// The document being built: the component schemas collected so far.
#[derive(Debug)]
pub struct Doc {
    #[cfg(feature = "schemars")]
    generator: schemars::SchemaGenerator,
    schemas: Map<String, Value>,
}

impl Default for Doc {
    fn default() -> Self {
        Doc::new()
    }
}

impl Doc {
    /// An empty document.
    pub fn new() -> Doc {
        Doc {
            #[cfg(feature = "schemars")]
            generator: schemars::generate::SchemaSettings::draft2020_12()
                .with(|s| {
                    s.definitions_path = "/components/schemas".into();
                    s.meta_schema = None;
                })
                .into_generator(),
            schemas: Map::new(),
        }
    }

    /// The schema of `T` (a `$ref` into the components for named types).
    #[cfg(feature = "schemars")]
    pub fn schema_of<T: schemars::JsonSchema + ?Sized>(&mut self) -> Value {
        let mut s = self.generator.subschema_for::<T>().to_value();
        integer_bounds(&mut s);
        s
    }

    /// The component schemas: those collected, then the framework's.
    fn take_schemas(&mut self) -> Map<String, Value> {
        #[cfg_attr(not(feature = "schemars"), allow(unused_mut))]
        let mut out = std::mem::take(&mut self.schemas);
        #[cfg(feature = "schemars")]
        for (name, mut schema) in self.generator.take_definitions(true) {
            integer_bounds(&mut schema);
            out.insert(name, schema);
        }
        out
    }
}

/// One operation being described.
#[derive(Debug, Default, Clone)]
pub struct Operation {
    summary: Option<String>,
    description: Option<String>,
    tags: Vec<String>,
    parameters: Vec<Value>,
    request_body: Option<Value>,
    responses: BTreeMap<String, Value>,
    /// The framework's own answers the arguments can cause.
    problems: std::collections::BTreeSet<u16>,
}

/// The media type of `text/plain` answers.
pub const TEXT: &str = "text/plain; charset=utf-8";
/// The media type of problem documents (RFC 9457).
pub const PROBLEM: &str = "application/problem+json";

impl Operation {
    /// An operation documented by the handler's doc comment (its first
    /// paragraph the summary, the rest the description), tagged `tag` or
    /// else by the handler's module (`module_path!()`: none for the
    /// crate's root).
    pub fn new(doc: &str, tag: Option<&str>, module: &str) -> Operation {
        let tag = tag.or_else(|| {
            module
                .split_once("::")
                .map(|(_, rest)| rest.rsplit("::").next().unwrap_or(rest))
        });
        let doc = doc.trim();
        let (summary, description) = match doc.split_once("\n\n") {
            Some((s, d)) => (s.trim(), d.trim()),
            None => (doc, ""),
        };
        let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        Operation {
            summary: (!summary.is_empty()).then(|| one_line(summary)),
            description: (!description.is_empty()).then(|| description.to_owned()),
            tags: tag.map(|t| vec![t.to_owned()]).unwrap_or_default(),
            ..Operation::default()
        }
    }

    /// A parameter `name` in `location` (`path`, `query`, `header`,
    /// `cookie`): a typed one also answers 400 when it does not parse.
    pub fn parameter(&mut self, location: &str, name: &str, required: bool, schema: Value) {
        let mut p = json!({
            "name": name,
            "in": location,
            "required": required || location == "path",
            "schema": schema,
        });
        if schema_is_array(&p["schema"]) {
            p["style"] = json!("form");
            p["explode"] = json!(true);
        }
        self.parameters.push(p);
        self.problems.insert(400);
    }

    /// The request body, of `media_type`: a body that does not parse is a
    /// 400 (415 for another media type, 422 for JSON or a form that does
    /// not fit).
    pub fn body(&mut self, media_type: &str, schema: Value) {
        self.request_body = Some(json!({
            "required": true,
            "content": { media_type: {"schema": schema} },
        }));
        self.problems.insert(400);
        if media_type == "application/json" || media_type == "application/x-www-form-urlencoded" {
            self.problems.insert(415);
            self.problems.insert(422);
        }
    }

    /// A response: `status` (`"200"`, `"3XX"`, `"default"`) with its
    /// content, if any. A second one for the same status adds its media
    /// type (two errors with one status share the entry).
    pub fn response(&mut self, status: &str, description: &str, content: Option<(&str, Value)>) {
        let entry = self
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| json!({"description": description}));
        if let Some((media, schema)) = content {
            entry["content"][media] = json!({"schema": schema});
        }
    }

    /// Describes, with `f`, a response whose status the handler chooses
    /// when it runs (`(StatusCode, T)`): its content as `default`.
    pub fn with_status_chosen_at_run_time(&mut self, f: impl FnOnce(&mut Operation)) {
        let mut inner = Operation::default();
        f(&mut inner);
        for (_, mut r) in inner.responses {
            r["description"] = json!("the response, with the status the handler chose");
            self.responses.entry("default".into()).or_insert(r);
        }
    }

    /// A header of the `status` response.
    pub fn response_header(&mut self, status: &str, name: &str, schema: Value) {
        if let Some(r) = self.responses.get_mut(status) {
            r["headers"][name] = json!({"schema": schema});
        }
    }

    /// A problem document (`application/problem+json`) answered with
    /// `status`.
    pub fn problem(&mut self, status: u16, description: &str) {
        self.response(
            &status.to_string(),
            description,
            Some((PROBLEM, json!({"$ref": "#/components/schemas/Problem"}))),
        );
    }

    /// The operation object, with the framework's answers it can give.
    pub(crate) fn finish(mut self, protected: bool) -> Value {
        if protected {
            self.problems.insert(401);
            self.problems.insert(403);
        }
        for p in &self.problems {
            self.responses.entry(p.to_string()).or_insert_with(
                || json!({"$ref": format!("#/components/responses/{}", problem_name(*p))}),
            );
        }
        if self.responses.is_empty() {
            self.responses
                .insert("default".into(), json!({"description": "the response"}));
        }
        let mut op = Map::new();
        if let Some(s) = self.summary {
            op.insert("summary".into(), json!(s));
        }
        if let Some(d) = self.description {
            op.insert("description".into(), json!(d));
        }
        if !self.tags.is_empty() {
            op.insert("tags".into(), json!(self.tags));
        }
        if !self.parameters.is_empty() {
            op.insert("parameters".into(), json!(self.parameters));
        }
        if let Some(b) = self.request_body {
            op.insert("requestBody".into(), b);
        }
        op.insert("responses".into(), json!(self.responses));
        Value::Object(op)
    }
}

fn schema_is_array(s: &Value) -> bool {
    s.get("type") == Some(&json!("array"))
}

/// The component name of a framework answer.
fn problem_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        415 => "UnsupportedMediaType",
        422 => "UnprocessableContent",
        _ => "Problem",
    }
}

/// The framework's own answers, described once (`components/responses`),
/// and the problem document's schema.
pub(crate) fn components(schemas: Map<String, Value>) -> Value {
    let mut responses = Map::new();
    // In front of API Gateway, a refused caller gets the gateway's own
    // answer (`{"message": "Unauthorized"}`, `application/json`); behind
    // a function URL, an ALB or in the HTTP server mode, the function's
    // problem document.
    let gateway = json!({
        "type": "object",
        "properties": {"message": {"type": ["string", "null"]}},
        "required": ["message"],
    });
    for (status, what) in [
        (400, "a parameter or the body does not parse"),
        (401, "no authorizer result, or no credentials"),
        (403, "the caller's claims do not fit, or lack the scope"),
        (404, "no route for the path"),
        (405, "the path is routed, not for this method"),
        (415, "the body is not of the media type the route reads"),
        (422, "the body does not fit the type the route reads"),
    ] {
        let mut content = json!({PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}});
        if status == 401 || status == 403 {
            content["application/json"] = json!({"schema": gateway});
        }
        responses.insert(
            problem_name(status).into(),
            json!({"description": what, "content": content}),
        );
    }
    let mut schemas = schemas;
    schemas.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "description": "A problem document (RFC 9457)",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 100, "maximum": 999},
                "detail": {"type": "string"},
            },
            "required": ["title", "status"],
        }),
    );
    json!({"schemas": schemas, "responses": responses})
}

/// The document's components, once every operation was described.
pub(crate) fn finish(doc: &mut Doc) -> Value {
    components(doc.take_schemas())
}

// ---------------------------------------------------------------------------
// What the route attributes call: a probe per concrete type, answered by
// the most specific description that type has (autoref specialisation:
// `(&&&Probe::<T>::new()).schema(doc)` finds the built-in schema of a
// parameter type first (integers with both bounds), then a `JsonSchema`
// impl, then the open schema).

/// A stand-in for a value of type `T`, whose methods describe `T`.
#[doc(hidden)]
pub struct Probe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> Probe<T> {
    #[doc(hidden)]
    pub const fn new() -> Self {
        Probe(PhantomData)
    }
}

impl<T: ?Sized> std::fmt::Debug for Probe<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

impl<T: ?Sized> Default for Probe<T> {
    fn default() -> Self {
        Probe::new()
    }
}

/// The schema of `T` from its `JsonSchema` implementation (with the
/// `schemars` feature).
#[doc(hidden)]
pub trait ViaJsonSchema {
    fn schema(&self, doc: &mut Doc) -> Value;
    fn query_params(&self, doc: &mut Doc, op: &mut Operation);
}

#[cfg(feature = "schemars")]
impl<T: schemars::JsonSchema + ?Sized> ViaJsonSchema for &Probe<T> {
    fn schema(&self, doc: &mut Doc) -> Value {
        doc.schema_of::<T>()
    }
    fn query_params(&self, doc: &mut Doc, op: &mut Operation) {
        // The whole query string as `T`: each property a parameter.
        let mut settings = schemars::generate::SchemaSettings::draft2020_12();
        settings.inline_subschemas = true;
        let schema = settings.into_generator().into_root_schema_for::<T>();
        let mut schema = schema.to_value();
        integer_bounds(&mut schema);
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = schema["properties"].as_object() {
            for (name, s) in props {
                op.parameter("query", name, required.contains(&name.as_str()), s.clone());
            }
        }
        let _ = doc;
    }
}

/// The schema of the built-in parameter types.
#[doc(hidden)]
pub trait ViaBuiltin {
    fn schema(&self, doc: &mut Doc) -> Value;
    fn query_params(&self, doc: &mut Doc, op: &mut Operation);
}

impl<T: Builtin + ?Sized> ViaBuiltin for &&Probe<T> {
    fn schema(&self, _: &mut Doc) -> Value {
        T::schema()
    }
    fn query_params(&self, _: &mut Doc, _: &mut Operation) {}
}

/// Anything else: an open schema.
#[doc(hidden)]
pub trait ViaOpen {
    fn schema(&self, doc: &mut Doc) -> Value;
    fn query_params(&self, doc: &mut Doc, op: &mut Operation);
}

impl<T: ?Sized> ViaOpen for Probe<T> {
    fn schema(&self, _: &mut Doc) -> Value {
        json!({})
    }
    fn query_params(&self, _: &mut Doc, _: &mut Operation) {}
}

/// The schemas Lambada knows without `schemars`: what path, query, header
/// and cookie arguments parse into.
#[doc(hidden)]
pub trait Builtin {
    fn schema() -> Value;
}

macro_rules! integers {
    ($($t:ty => $format:literal),*) => {$(
        impl Builtin for $t {
            fn schema() -> Value {
                let mut s = json!({"type": "integer", "format": $format});
                integer_bounds(&mut s);
                s
            }
        }
    )*};
}

/// Adds the bounds of the Rust integer type an integer schema's `format`
/// names (`uint32`: 0 to 4294967295) where the schema has none, in every
/// subschema: what a client may send is what the type can hold (schemars
/// gives a `u32` no maximum, and a client sending 2^44 would be refused).
pub(crate) fn integer_bounds(schema: &mut Value) {
    match schema {
        Value::Object(o) => {
            let bounds: Option<(Value, Value)> = match o.get("format").and_then(Value::as_str) {
                Some("uint8") => Some((json!(0), json!(u8::MAX))),
                Some("uint16") => Some((json!(0), json!(u16::MAX))),
                Some("uint32") => Some((json!(0), json!(u32::MAX))),
                Some("uint64" | "uint") => Some((json!(0), json!(u64::MAX))),
                Some("int8") => Some((json!(i8::MIN), json!(i8::MAX))),
                Some("int16") => Some((json!(i16::MIN), json!(i16::MAX))),
                Some("int32") => Some((json!(i32::MIN), json!(i32::MAX))),
                Some("int64" | "int") => Some((json!(i64::MIN), json!(i64::MAX))),
                _ => None,
            };
            if let Some((min, max)) = bounds {
                o.entry("minimum").or_insert(min);
                o.entry("maximum").or_insert(max);
            }
            for v in o.values_mut() {
                integer_bounds(v);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integer_bounds),
        _ => {}
    }
}
integers!(
    u8 => "uint8", u16 => "uint16", u32 => "uint32", u64 => "uint64", usize => "uint64",
    i8 => "int8", i16 => "int16", i32 => "int32", i64 => "int64", isize => "int64"
);

impl Builtin for f32 {
    fn schema() -> Value {
        json!({"type": "number", "format": "float"})
    }
}
impl Builtin for f64 {
    fn schema() -> Value {
        json!({"type": "number", "format": "double"})
    }
}
impl Builtin for bool {
    fn schema() -> Value {
        json!({"type": "boolean"})
    }
}
impl Builtin for char {
    fn schema() -> Value {
        json!({"type": "string", "minLength": 1, "maxLength": 1})
    }
}
impl Builtin for String {
    fn schema() -> Value {
        json!({"type": "string"})
    }
}
impl Builtin for str {
    fn schema() -> Value {
        json!({"type": "string"})
    }
}
impl<T: Builtin + ?Sized> Builtin for &T {
    fn schema() -> Value {
        T::schema()
    }
}
impl Builtin for std::borrow::Cow<'_, str> {
    fn schema() -> Value {
        json!({"type": "string"})
    }
}
#[cfg(feature = "uuid")]
impl Builtin for uuid::Uuid {
    fn schema() -> Value {
        json!({"type": "string", "format": "uuid"})
    }
}

/// The responses a type answers with, for the document: implemented by
/// Lambada's response types and by `#[derive(HttpError)]`, and by hand for
/// a type with an `IntoResponse` of its own. A type without it is
/// documented as a `default` response of any content.
///
/// ```
/// use lambada::openapi::{Doc, Operation, Responses};
/// use lambada::prelude::*;
///
/// /// Either a teapot or nothing.
/// struct Brew;
///
/// impl IntoResponse for Brew {
///     fn into_response(self) -> Response {
///         (StatusCode::IM_A_TEAPOT, "short and stout").into_response()
///     }
/// }
///
/// impl Responses for Brew {
///     fn responses(_: &mut Doc, op: &mut Operation) {
///         op.response("418", "I'm a teapot", Some((lambada::openapi::TEXT, serde_json::json!({"type": "string"}))));
///     }
/// }
///
/// #[get("/brew")]
/// async fn brew() -> Brew { Brew }
///
/// let doc = routes![brew].openapi();
/// assert!(doc["paths"]["/brew"]["get"]["responses"]["418"].is_object());
/// ```
pub trait Responses {
    /// Adds the type's responses to `op`.
    fn responses(doc: &mut Doc, op: &mut Operation);
}

/// A type's own [`Responses`].
#[doc(hidden)]
pub trait ViaResponses {
    fn responses(&self, doc: &mut Doc, op: &mut Operation);
}

impl<T: Responses + ?Sized> ViaResponses for &Probe<T> {
    fn responses(&self, doc: &mut Doc, op: &mut Operation) {
        T::responses(doc, op);
    }
}

/// A response type that says nothing of itself.
#[doc(hidden)]
pub trait ViaAnyResponse {
    fn responses(&self, doc: &mut Doc, op: &mut Operation);
}

impl<T: ?Sized> ViaAnyResponse for Probe<T> {
    fn responses(&self, _: &mut Doc, op: &mut Operation) {
        op.response("default", "the response", None);
    }
}

fn text(op: &mut Operation, status: &str) {
    op.response(status, "OK", Some((TEXT, json!({"type": "string"}))));
}

impl Responses for String {
    fn responses(_: &mut Doc, op: &mut Operation) {
        text(op, "200");
    }
}
impl Responses for &str {
    fn responses(_: &mut Doc, op: &mut Operation) {
        text(op, "200");
    }
}
impl Responses for std::borrow::Cow<'_, str> {
    fn responses(_: &mut Doc, op: &mut Operation) {
        text(op, "200");
    }
}
impl Responses for () {
    fn responses(_: &mut Doc, op: &mut Operation) {
        op.response("204", "No Content", None);
    }
}
impl Responses for Vec<u8> {
    fn responses(_: &mut Doc, op: &mut Operation) {
        op.response(
            "200",
            "OK",
            Some(("application/octet-stream", json!({"type": "string"}))),
        );
    }
}
impl Responses for bytes::Bytes {
    fn responses(doc: &mut Doc, op: &mut Operation) {
        <Vec<u8> as Responses>::responses(doc, op);
    }
}
impl<T> Responses for crate::response::Html<T> {
    fn responses(_: &mut Doc, op: &mut Operation) {
        op.response(
            "200",
            "OK",
            Some(("text/html; charset=utf-8", json!({"type": "string"}))),
        );
    }
}
impl Responses for crate::response::Redirect {
    fn responses(_: &mut Doc, op: &mut Operation) {
        op.response("3XX", "Redirect to `Location`", None);
        op.response_header("3XX", "Location", json!({"type": "string"}));
    }
}
impl Responses for crate::response::Problem {
    fn responses(_: &mut Doc, op: &mut Operation) {
        op.response(
            "default",
            "A problem",
            Some((PROBLEM, json!({"$ref": "#/components/schemas/Problem"}))),
        );
    }
}
impl Responses for crate::response::ApiError {
    fn responses(doc: &mut Doc, op: &mut Operation) {
        <crate::response::Problem as Responses>::responses(doc, op);
    }
}
impl Responses for std::convert::Infallible {
    fn responses(_: &mut Doc, _: &mut Operation) {}
}
