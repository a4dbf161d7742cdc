use lambada::prelude::*;

#[get("/a", stream = "yes")]
async fn a() -> &'static str {
    "a"
}

#[get("/b", stream, stream)]
async fn b() -> &'static str {
    "b"
}

#[get("/c", streaming)]
async fn c() -> &'static str {
    "c"
}

fn main() {}
