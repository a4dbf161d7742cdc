use lambada::prelude::*;

fn open() -> Cors {
    Cors::any_origin()
}

#[get("/a", cors = true)]
async fn a() {}

#[get("/b", cors = "https://app.example.com")]
async fn b() {}

#[get("/c", cors = false, cors = open)]
async fn c() {}

fn main() {}
