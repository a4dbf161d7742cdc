use lambada::prelude::*;

#[get("/users/<id>/posts/<post>")]
async fn missing_argument(id: u32) -> String {
    id.to_string()
}

#[get("/users/<id>")]
async fn argument_matches_nothing(id: u32, page: u32) -> String {
    format!("{id} {page}")
}

#[get("/search?<q>")]
async fn query_unmatched() {}

fn main() {}
