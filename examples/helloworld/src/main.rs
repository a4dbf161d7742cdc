//! The Lambada boilerplate, ported to Rust.
//!
//! Run locally with `cargo run -p example-helloworld` (HTTP server mode on
//! port 8080), or deploy with `cargo lambada deploy`; see the README.

use lambada::prelude::*;
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

/// What a client posts to create an item.
#[derive(Debug, Deserialize)]
pub struct NewItem {
    /// The stock-keeping unit.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// A created item.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
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

/// A typed error: each variant maps to a status.
#[derive(Debug, HttpError)]
pub enum ItemError {
    /// 422.
    #[status(UNPROCESSABLE_ENTITY)]
    ZeroQuantity,
    /// 404.
    #[status(404)]
    NotFound(String),
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemError::ZeroQuantity => f.write_str("quantity must be at least 1"),
            ItemError::NotFound(sku) => write!(f, "no item `{sku}`"),
        }
    }
}

/// A typed error from a lookup: `GET /items/<sku>` only knows `ABC-123`.
#[get("/items/<sku>")]
pub async fn item(sku: &str) -> Result<Json<Item>, ItemError> {
    if sku != "ABC-123" {
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

/// The route table.
pub fn app() -> Routes {
    routes![index, greet, agent, create, item, old_home, me]
}

#[lambada::main]
async fn main() -> Result<(), lambada::Error> {
    lambada::run(app()).await
}

#[cfg(test)]
mod tests;
