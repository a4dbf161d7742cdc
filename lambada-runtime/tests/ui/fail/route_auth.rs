use lambada::prelude::*;

#[get("/b", auth = "has space")]
async fn auth_bad_name() {}

#[get("/c", auth = "")]
async fn auth_empty() {}

#[get("/d", auth = "users", auth = "admins")]
async fn auth_twice() {}

#[get("/e", auth = "users", scopes = "orders/read")]
async fn scopes_not_a_list() {}

#[get("/f", auth = "users", scopes = ["orders/read", 7, "two words"])]
async fn scopes_bad_items() {}

#[get("/g", auth = "users", scopes = [])]
async fn scopes_empty() {}

#[get("/h", auth = "none", scopes = ["orders/read"])]
async fn public_with_scopes() {}

#[get("/i", authorizer = "users")]
async fn unknown_key() {}

#[get("/j", auth)]
async fn no_value() {}

#[route(POST, "/k", auth = 1)]
async fn route_form() {}

fn main() {}
