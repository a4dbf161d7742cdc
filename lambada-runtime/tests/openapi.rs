//! The OpenAPI document of a route table, generated from the handlers'
//! types: parameters, bodies, responses, the framework's own problems,
//! security, and a route that serves the document. Holds with and without
//! the `schemars` feature; the assertions that need it say so.

use lambada::openapi::OpenApi;
use lambada::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Serialize, Deserialize)]
/// An item of the catalogue.
pub struct Item {
    /// Its stock-keeping unit.
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, HttpError)]
pub enum ItemError {
    /// No such item.
    #[status(404)]
    Missing,
    /// The item exists already.
    #[status(CONFLICT)]
    Taken,
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Reads one item.
///
/// Items are kept by SKU.
#[get("/items/<sku>?<verbose>&<tags>")]
async fn item(
    sku: &str,
    verbose: Option<bool>,
    tags: Vec<String>,
    #[header("x-trace")] trace: Option<u64>,
    #[cookie] session: Option<String>,
) -> Result<Json<Item>, ItemError> {
    let _ = (verbose, tags, trace, session);
    if sku == "gone" {
        return Err(ItemError::Missing);
    }
    Ok(Json(Item {
        sku: sku.to_owned(),
        quantity: 1,
    }))
}

/// Adds an item.
#[post("/items", tag = "catalogue")]
async fn create(Json(item): Json<Item>) -> Result<(StatusCode, Json<Item>), ItemError> {
    Ok((StatusCode::CREATED, Json(item)))
}

#[delete("/items/<sku>")]
async fn remove(sku: u32) {
    let _ = sku;
}

#[get("/files/<rest..>")]
async fn files(rest: &str) -> Html<String> {
    Html(rest.to_owned())
}

#[get("/old")]
async fn old() -> Redirect {
    Redirect::permanent("/new")
}

#[get("/me", auth = "users", scopes = ["profile"])]
async fn me() -> &'static str {
    "me"
}

#[derive(Debug)]
struct Custom;

impl IntoResponse for Custom {
    fn into_response(self) -> Response {
        "custom".into_response()
    }
}

#[get("/custom")]
async fn custom() -> Custom {
    Custom
}

/// This API's document.
#[get("/openapi.json")]
async fn spec(doc: State<OpenApi>) -> Json<Value> {
    Json(doc.document().clone())
}

fn table() -> Routes {
    routes![item, create, remove, files, old, me, custom, spec]
}

fn doc() -> Value {
    table().openapi()
}

#[test]
fn parameters_are_typed_by_the_arguments() {
    let d = doc();
    assert_eq!(d["openapi"], "3.1.0");
    assert_eq!(d["info"]["title"], "lambada-runtime");
    let op = &d["paths"]["/items/{sku}"]["get"];
    assert_eq!(op["operationId"], "item");
    assert_eq!(op["summary"], "Reads one item.");
    assert_eq!(op["description"], "Items are kept by SKU.");
    let params = op["parameters"].as_array().unwrap();
    let by = |n: &str| params.iter().find(|p| p["name"] == n).unwrap().clone();
    assert_eq!(
        by("sku"),
        json!({"name": "sku", "in": "path", "required": true, "schema": {"type": "string"}})
    );
    assert_eq!(by("verbose")["required"], false);
    assert_eq!(by("verbose")["schema"]["type"], "boolean");
    let tags = by("tags");
    assert_eq!(
        (
            &tags["schema"]["type"],
            &tags["schema"]["items"]["type"],
            &tags["explode"]
        ),
        (&json!("array"), &json!("string"), &json!(true))
    );
    assert_eq!(by("x-trace")["in"], "header");
    assert_eq!(by("x-trace")["schema"]["type"], "integer");
    assert_eq!(by("session")["in"], "cookie");
    let remove = &d["paths"]["/items/{sku}"]["delete"];
    let sku = &remove["parameters"][0]["schema"];
    assert_eq!(
        (&sku["type"], &sku["minimum"]),
        (&json!("integer"), &json!(0))
    );
    assert_eq!(sku["maximum"], u32::MAX);
    // The tail of a path is one parameter.
    assert_eq!(
        d["paths"]["/files/{rest}"]["get"]["parameters"][0]["name"],
        "rest"
    );
}

#[test]
fn responses_come_from_the_return_type() {
    let d = doc();
    let get = &d["paths"]["/items/{sku}"]["get"]["responses"];
    assert!(get["200"]["content"]["application/json"]["schema"].is_object());
    // Each status of the error type, a problem document.
    assert_eq!(get["404"]["description"], "No such item.");
    assert_eq!(
        get["409"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    // The framework's own: typed parameters that may not parse.
    assert_eq!(get["400"]["$ref"], "#/components/responses/BadRequest");
    let post = &d["paths"]["/items"]["post"];
    assert_eq!(post["tags"], json!(["catalogue"]));
    assert!(post["requestBody"]["content"]["application/json"].is_object());
    // The status is the handler's choice: the body is the default answer.
    assert!(post["responses"]["default"]["content"]["application/json"].is_object());
    for s in ["400", "415", "422"] {
        assert!(post["responses"][s]["$ref"].is_string(), "{s}: {post}");
    }
    assert!(d["paths"]["/items/{sku}"]["delete"]["responses"]["204"].is_object());
    assert!(d["paths"]["/files/{rest}"]["get"]["responses"]["200"]["content"]["text/html; charset=utf-8"].is_object());
    let old = &d["paths"]["/old"]["get"]["responses"]["3XX"];
    assert!(old["headers"]["Location"].is_object(), "{old}");
    // A response type that says nothing of itself: any answer.
    assert!(d["paths"]["/custom"]["get"]["responses"]["default"].is_object());
    for name in [
        "BadRequest",
        "Unauthorized",
        "Forbidden",
        "UnsupportedMediaType",
        "UnprocessableContent",
    ] {
        assert!(d["components"]["responses"][name].is_object(), "{name}");
    }
}

#[test]
fn protected_routes_carry_their_security() {
    let d = doc();
    let me = &d["paths"]["/me"]["get"];
    assert_eq!(me["security"], json!([{"users": ["profile"]}]));
    assert_eq!(
        d["components"]["securitySchemes"]["users"],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    );
    for s in ["401", "403"] {
        assert!(me["responses"][s].is_object(), "{s}");
    }
    assert!(d["paths"]["/items"]["post"].get("security").is_none());
}

#[cfg(feature = "schemars")]
#[test]
fn json_schema_types_are_components() {
    let d = doc();
    let schema =
        &d["paths"]["/items"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(schema["$ref"], "#/components/schemas/Item");
    let item = &d["components"]["schemas"]["Item"];
    assert_eq!(item["properties"]["quantity"]["minimum"], 0);
    assert_eq!(item["description"], "An item of the catalogue.");
}

#[cfg(not(feature = "schemars"))]
#[test]
fn other_types_get_an_open_schema() {
    let d = doc();
    let schema =
        &d["paths"]["/items"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(schema, &json!({}));
}

#[tokio::test]
async fn a_route_serves_the_document() {
    let client = lambada::test::Client::new(table().with_openapi());
    let res = client.get("/openapi.json").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>(), doc());
    // Without the state, the table does not start.
    let err = table().check().unwrap_err().to_string();
    assert!(err.contains("OpenApi"), "{err}");
}
