use lambada::prelude::*;

fn not_settings() -> u32 {
    1
}

// A function of another type: the mismatch is under its name.
#[get("/d", cors = not_settings)]
async fn d() {}

fn main() {}
