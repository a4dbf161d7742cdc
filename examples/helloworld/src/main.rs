//! The Lambada boilerplate, ported to Rust.
//!
//! Run locally with `cargo run -p example-helloworld` (HTTP server mode on
//! port 8080), or deploy with `cargo lambada deploy`; see the README.

use lambada::openapi::OpenApi;
use lambada::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `GET /helloworld/5` → `Hello world: 5`, as in the original boilerplate.
#[get("/helloworld/<id>")]
pub async fn index(id: u32) -> String {
    format!("Hello world: {id}")
}

/// A query parameter: `GET /greet?name=Ada&excited=true`.
#[get("/greet?<name>&<excited>")]
pub async fn greet(name: Option<String>, excited: Option<bool>) -> String {
    let name = name.as_deref().unwrap_or("stranger");
    let mark = if excited.unwrap_or(false) { "!" } else { "." };
    format!("Hello, {name}{mark}")
}

/// A header: `GET /agent` answers with the caller's `User-Agent`.
#[get("/agent")]
pub async fn agent(#[header] user_agent: Option<String>) -> String {
    format!(
        "You are using {}",
        user_agent.as_deref().unwrap_or("an unknown client")
    )
}

/// A stock-keeping unit: three capital letters, a dash, three digits.
pub const SKU: &str = "^[A-Z]{3}-[0-9]{3}$";

/// Whether `sku` is a well-formed stock-keeping unit ([`SKU`]).
fn well_formed(sku: &str) -> bool {
    let b = sku.as_bytes();
    b.len() == 7
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3] == b'-'
        && b[4..].iter().all(u8::is_ascii_digit)
}

/// What a client posts to create an item.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NewItem {
    /// The stock-keeping unit (`ABC-123`).
    #[schemars(regex(pattern = SKU))]
    pub sku: String,
    /// How many: at least one.
    #[schemars(range(min = 1))]
    pub quantity: u32,
}

/// A created item.
#[derive(Debug, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Item {
    /// The stock-keeping unit.
    pub sku: String,
    /// How many.
    pub quantity: u32,
    /// Where to find it.
    pub href: String,
}

/// A JSON body: `POST /items {"sku": "ABC-123", "quantity": 2}` → 201.
#[post("/items")]
pub async fn create(Json(item): Json<NewItem>) -> Result<(StatusCode, Json<Item>), ItemError> {
    if item.quantity == 0 {
        return Err(ItemError::ZeroQuantity);
    }
    if !well_formed(&item.sku) {
        return Err(ItemError::BadSku(item.sku));
    }
    let href = format!("/items/{}", item.sku);
    Ok((
        StatusCode::CREATED,
        Json(Item {
            sku: item.sku,
            quantity: item.quantity,
            href,
        }),
    ))
}

/// A typed error: each variant maps to a status (and so documents it).
#[derive(Debug, HttpError)]
pub enum ItemError {
    /// The quantity is zero.
    #[status(UNPROCESSABLE_ENTITY)]
    ZeroQuantity,
    /// The SKU is not of the form `ABC-123`.
    #[status(UNPROCESSABLE_ENTITY)]
    BadSku(String),
    /// No such item.
    #[status(404)]
    NotFound(String),
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemError::ZeroQuantity => f.write_str("quantity must be at least 1"),
            ItemError::BadSku(sku) => write!(f, "`{sku}` is not a SKU (ABC-123)"),
            ItemError::NotFound(sku) => write!(f, "no item `{sku}`"),
        }
    }
}

/// A typed error from a lookup: `GET /items/<sku>` knows every
/// well-formed SKU (seven of each, in this demo catalogue), and answers 404
/// for anything else.
#[get("/items/<sku>")]
pub async fn item(sku: &str) -> Result<Json<Item>, ItemError> {
    if !well_formed(sku) {
        return Err(ItemError::NotFound(sku.to_owned()));
    }
    Ok(Json(Item {
        sku: sku.to_owned(),
        quantity: 7,
        href: format!("/items/{sku}"),
    }))
}

/// A redirect: the old home page moved.
#[get("/old-home")]
pub async fn old_home() -> Redirect {
    Redirect::moved_permanently("/helloworld/1")
}

/// Who is calling, from the claims of their Cognito access token.
#[derive(Debug, Deserialize)]
pub struct Caller {
    /// The user's id in the pool.
    pub sub: String,
    /// Their user name (access tokens carry it; ID tokens say
    /// `cognito:username`).
    pub username: Option<String>,
}

/// A protected route: `GET /me` with `Authorization: <token>`. API Gateway's
/// Cognito authorizer `users` (configured in Cargo.toml) verifies the token
/// and its `profile` scope before the function runs; `cargo lambada serve
/// --jwks FILE` does the same locally. The claims arrive typed.
#[get("/me", auth = "users", scopes = ["profile"])]
pub async fn me(Claims(caller): Claims<Caller>) -> String {
    format!(
        "Hello, {}",
        caller.username.as_deref().unwrap_or(&caller.sub)
    )
}

/// This API's OpenAPI document, generated from the handlers' types.
#[get("/openapi.json")]
pub async fn spec(doc: State<OpenApi>) -> Json<serde_json::Value> {
    Json(doc.document().clone())
}

/// The route table (and, last, the document of it that `spec` serves).
pub fn app() -> Routes {
    routes![index, greet, agent, create, item, old_home, me, spec].with_openapi()
}

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    lambada::run(app()).await
}

#[cfg(test)]
mod tests;
