use lambada::prelude::*;

#[ws_connect]
async fn join() {}

#[ws_connect]
async fn join_again() {}

fn main() {
    let _ = routes![join, join_again];
}
