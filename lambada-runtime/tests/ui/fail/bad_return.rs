use lambada::prelude::*;

struct Thing;

#[get("/thing")]
async fn thing() -> Thing {
    Thing
}

fn main() {}
