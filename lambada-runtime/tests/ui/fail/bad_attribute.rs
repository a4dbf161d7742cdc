use lambada::prelude::*;

#[route(FETCH, "/a")]
async fn unknown_method() {}

#[get]
async fn no_path() {}

#[get(42)]
async fn not_a_string() {}

#[get("/b")]
async fn two_sources(#[query] #[header] _x: Option<String>) {}

fn main() {}
