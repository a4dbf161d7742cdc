use lambada::prelude::*;

#[allow(dead_code)]
fn open() -> Cors {
    Cors::any_origin()
}

// A misspelt settings function: unresolved, under the name.
#[get("/e", cors = opne)]
async fn e() {}

fn main() {}
