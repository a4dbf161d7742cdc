use lambada::prelude::*;

/// Not an argument a WebSocket handler can take.
#[ws_message(route = "count")]
async fn count(_n: u32) {}

/// An HTTP extractor is no WebSocket argument.
#[ws_message(route = "query")]
async fn query(_q: Query<std::collections::HashMap<String, String>>) {}

fn main() {
    let _ = routes![count, query];
}
