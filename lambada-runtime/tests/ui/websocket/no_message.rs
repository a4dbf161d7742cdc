use lambada::prelude::*;

/// A `$connect` carries no message.
#[ws_connect]
async fn join(_body: String) {}

/// Nor does a `$disconnect`.
#[ws_disconnect(route = "x")]
async fn leave(Json(_v): Json<serde_json::Value>) {}

/// The message is read once.
#[ws_message(route = "twice")]
async fn twice(_text: String, Json(_v): Json<serde_json::Value>) {}

struct Chat;

impl Chat {
    #[ws_message(route = "method")]
    async fn method(&self) {}
}

fn main() {
    let _ = routes![join, leave, twice];
}
