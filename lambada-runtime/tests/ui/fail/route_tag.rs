use lambada::prelude::*;

#[get("/a", tag = "")]
async fn a() {}

#[get("/b", tag = orders)]
async fn b() {}

#[get("/c", tag = "x", tag = "y")]
async fn c() {}

fn main() {}
