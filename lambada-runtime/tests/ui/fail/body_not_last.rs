use lambada::prelude::*;

#[post("/items/<id>")]
async fn json_first(body: Json<serde_json::Value>, id: u32) -> String {
    format!("{id} {}", body.0)
}

#[post("/both")]
async fn two_bodies(_a: Json<serde_json::Value>, _b: Form<Vec<(String, String)>>) {}

fn main() {}
