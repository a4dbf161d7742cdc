use lambada::prelude::*;

#[get("/")]
async fn index() -> &'static str {
    "hi"
}

fn main() {
    let _ = routes![index, index];
}
